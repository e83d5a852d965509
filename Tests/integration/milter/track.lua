-- Debian's miltertest drives a running mailtrail-milter through connect ... eom, as Postfix
-- would, and checks what the filter asks the MTA to change. Run by test_milter_miltertest.py:
--
--   miltertest -s track.lua -D socket=inet:PORT@127.0.0.1 -D mailtrail=/path/to/mailtrail \
--              -D config=/path/to/mailtrail.conf -D workdir=/tmp/dir
--
-- Three messages on one milter connection (the filter must reset at every MAIL FROM):
--   1. a small HTML message: X-MailTrail-ID inserted (32 hex digits) and the body replaced by
--      exactly what `mailtrail rewrite` makes of the same message with that tracking ID and
--      the issue time of the milter run (the clock may tick during the run: the second before
--      and after eom are both tried, exactly one must match);
--   2. the same message with "X-MailTrail-Track: off": that header deleted, nothing else
--      changed (no ID, body untouched);
--   3. a message that already carries X-MailTrail-ID (re-injection): no change at all.
-- Any failed check raises an error, and miltertest exits non-zero.

-- miltertest exits 1 on a Lua error without printing it: say why on stdout first.
local function fail(message)
    mt.echo("FAIL: " .. message)
    error(message)
end

for _, name in ipairs({"socket", "mailtrail", "config", "workdir"}) do
    if _G[name] == nil then fail("missing -D " .. name .. "=...") end
end

local function check(result, what)
    if result ~= nil then fail(what .. ": " .. tostring(result)) end
end

local function expect_continue(conn, what)
    local reply = mt.getreply(conn)
    if reply ~= SMFIR_CONTINUE then
        fail(what .. ": expected SMFIR_CONTINUE, got " .. tostring(reply))
    end
end

local CRLF = "\r\n"
local HEADERS = {
    {"From", "Shop <shop@example.com>"},
    {"To", "maria@example.net"},
    {"Subject", "Your order"},
    {"Message-ID", "<miltertest.1@example.com>"},
    {"MIME-Version", "1.0"},
    {"Content-Type", "text/html; charset=utf-8"},
}
local BODY = "<html><body>" .. CRLF
    .. "<p>Hello <a href=\"https://shop.example.com/order?id=42&amp;x=1\">your order</a>.</p>" .. CRLF
    .. "<p><a href=\"mailto:help@example.com\">help</a></p>" .. CRLF
    .. "</body></html>" .. CRLF

-- Sends one message (envelope, headers, body) and its end of message.
local function send(conn, queue_id, extra_headers)
    mt.macro(conn, SMFIC_MAIL, "i", queue_id, "{auth_authen}", "shopuser")
    check(mt.mailfrom(conn, "<shop@example.com>"), "mt.mailfrom")
    expect_continue(conn, "mailfrom")
    check(mt.rcptto(conn, "<maria@example.net>"), "mt.rcptto")
    expect_continue(conn, "rcptto")
    for _, h in ipairs(extra_headers) do
        check(mt.header(conn, h[1], h[2]), "mt.header " .. h[1])
        expect_continue(conn, "header " .. h[1])
    end
    for _, h in ipairs(HEADERS) do
        check(mt.header(conn, h[1], h[2]), "mt.header " .. h[1])
        expect_continue(conn, "header " .. h[1])
    end
    check(mt.bodystring(conn, BODY), "mt.bodystring")
    expect_continue(conn, "body")
    check(mt.eom(conn), "mt.eom")
    expect_continue(conn, "eom")
end

-- The message as a file, for `mailtrail rewrite`.
local function message_text(extra_headers)
    local text = ""
    for _, h in ipairs(extra_headers) do text = text .. h[1] .. ": " .. h[2] .. CRLF end
    for _, h in ipairs(HEADERS) do text = text .. h[1] .. ": " .. h[2] .. CRLF end
    return text .. CRLF .. BODY
end

-- The body `mailtrail rewrite` produces for the message with this tracking ID and issue time.
local function expected_body(tracking_id, issued_at)
    local input = workdir .. "/miltertest-message.eml"
    local f = assert(io.open(input, "wb"))
    f:write(message_text({}))
    f:close()
    local command = string.format("%q rewrite --config %q --tracking-id %s --issued-at %d --sender shop@example.com %q",
                                  mailtrail, config, tracking_id, issued_at, input)
    local p = assert(io.popen(command, "r"))
    local out = p:read("a")
    local ok = p:close()
    if not ok or out == nil then fail("mailtrail rewrite failed: " .. command) end
    local split = string.find(out, CRLF .. CRLF, 1, true)
    if split == nil then fail("mailtrail rewrite printed no header/body separator") end
    return string.sub(out, split + 4)
end

mt.set_timeout(30)
local conn = mt.connect(socket, 20, 0.25)
if conn == nil then fail("mt.connect(" .. socket .. ") failed") end
check(mt.negotiate(conn, nil, nil, nil), "mt.negotiate")
for _, action in ipairs({SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_CHGBODY}) do
    if not mt.test_action(conn, action) then fail("the filter did not ask for action " .. action) end
end
check(mt.conninfo(conn, "client.example.org", "192.0.2.7"), "mt.conninfo")
expect_continue(conn, "connect")
-- The filter decides only at end of message: it asks not to be sent HELO and end of header,
-- and not to be waited for after connect, MAIL, RCPT, each header and each body chunk. On a
-- Unix socket it asks not to be sent DATA either; on TCP it keeps DATA (its reply acknowledges
-- Postfix's envelope packets before cleanup writes; see ProtocolOptions.swift).
local asked = {SMFIP_NOHELO, SMFIP_NOEOH, SMFIP_NR_CONN, SMFIP_NR_MAIL, SMFIP_NR_RCPT,
               SMFIP_NR_HDR, SMFIP_NR_BODY}
local not_asked = {SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOMAIL, SMFIP_NORCPT, SMFIP_NOCONNECT,
                   SMFIP_NR_EOH}
if string.sub(socket, 1, 5) == "unix:" then
    table.insert(asked, SMFIP_NODATA)
else
    table.insert(not_asked, SMFIP_NODATA)
end
for _, option in ipairs(asked) do
    if not mt.test_option(conn, option) then fail("the filter did not ask for option " .. option) end
end
for _, option in ipairs(not_asked) do
    if mt.test_option(conn, option) then fail("the filter asked for option " .. option) end
end

-- 1. Tracked: ID inserted at index 1 (below the MTA's Received), body replaced exactly.
local before = os.time()
send(conn, "MTQUEUE1", {})
local after = os.time()
if not mt.eom_check(conn, MT_HDRINSERT, "X-MailTrail-ID") then fail("1: X-MailTrail-ID not inserted") end
local id = mt.getheader(conn, "X-MailTrail-ID", 0)
if id == nil then fail("1: mt.getheader(X-MailTrail-ID) returned nil") end
id = string.gsub(id, "^%s+", "")
if not string.match(id, "^" .. string.rep("[0-9a-f]", 32) .. "$") then
    fail("1: X-MailTrail-ID is not 32 hex digits: '" .. id .. "'")
end
if not mt.eom_check(conn, MT_HDRINSERT, "X-MailTrail-ID", id, 1) then
    fail("1: X-MailTrail-ID not inserted at index 1")
end
if not mt.eom_check(conn, MT_BODYCHANGE) then fail("1: body not replaced") end
local matched = nil
for t = before - 1, after do
    local body = expected_body(id, t)
    if body == BODY then fail("1: mailtrail rewrite left the body unchanged") end
    if mt.eom_check(conn, MT_BODYCHANGE, body) then matched = t end
end
if matched == nil then fail("1: the replaced body is not the one mailtrail rewrite makes") end
-- For the caller's independent check (Python's email package): the message as delivered.
local out = assert(io.open(workdir .. "/miltertest-tracked.eml", "wb"))
out:write("X-MailTrail-ID: " .. id .. CRLF .. message_text({}):sub(1, -#BODY - 1) .. expected_body(id, matched))
out:close()
if mt.eom_check(conn, MT_HDRDELETE) or mt.eom_check(conn, MT_HDRCHANGE) then
    fail("1: a header was changed or deleted")
end
mt.echo("tracked " .. id .. " issued-at " .. matched)

-- 2. Opted out: X-MailTrail-Track removed, nothing else.
send(conn, "MTQUEUE2", {{"X-MailTrail-Track", "off"}})
if not mt.eom_check(conn, MT_HDRDELETE, "X-MailTrail-Track") then fail("2: X-MailTrail-Track not removed") end
if mt.eom_check(conn, MT_HDRINSERT) or mt.eom_check(conn, MT_HDRADD) then fail("2: a header was added") end
if mt.eom_check(conn, MT_BODYCHANGE) then fail("2: the body was replaced") end
mt.echo("opted out")

-- 3. Already tracked (re-injection): untouched.
send(conn, "MTQUEUE3", {{"X-MailTrail-ID", id}})
if mt.eom_check(conn, MT_HDRINSERT) or mt.eom_check(conn, MT_HDRADD) or mt.eom_check(conn, MT_HDRCHANGE)
    or mt.eom_check(conn, MT_HDRDELETE) or mt.eom_check(conn, MT_BODYCHANGE) then
    fail("3: an already tracked message was modified")
end
mt.echo("already tracked")

mt.disconnect(conn)
mt.echo("ok")
