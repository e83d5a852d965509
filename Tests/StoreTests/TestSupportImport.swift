// The shared fixtures (RedisServer, FreePort, TemporaryDirectory, ...) for every file here.
@_exported import TestSupport
