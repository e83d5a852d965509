/* Points one loaded shared library's calls to read, poll and close at the buffered versions
   (BufferedSessionIO.c), and no one else's: only that library's global offset table entries
   change, so the rest of the process (Swift, SwiftNIO, hiredis) keeps calling libc.

   The entries are found the way the dynamic linker finds them: the library's dynamic section
   gives its symbol and string tables and its relocations; an R_*_JUMP_SLOT or R_*_GLOB_DAT
   relocation against a symbol named read, poll or close locates an entry. Entries inside the
   PT_GNU_RELRO range are read-only once relocated, so the page is opened for the write and
   closed again. */

#define _GNU_SOURCE
#include "LibmilterIO.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define JUMP_SLOT R_X86_64_JUMP_SLOT
#define GLOB_DAT R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define JUMP_SLOT R_AARCH64_JUMP_SLOT
#define GLOB_DAT R_AARCH64_GLOB_DAT
#endif

struct found_library {
    const char *fragment;
    ElfW(Addr) base;
    const ElfW(Dyn) *dynamic;
    ElfW(Addr) relro_start, relro_end;
};

static int find_library(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    struct found_library *found = context;
    if (info->dlpi_name == NULL || strstr(info->dlpi_name, found->fragment) == NULL) return 0;
    found->base = info->dlpi_addr;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC) {
            found->dynamic = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        } else if (ph->p_type == PT_GNU_RELRO) {
            found->relro_start = info->dlpi_addr + ph->p_vaddr;
            found->relro_end = found->relro_start + ph->p_memsz;
        }
    }
    return 1;
}

/* glibc stores relocated addresses in the dynamic section; other loaders keep offsets. */
static ElfW(Addr) address(ElfW(Addr) pointer, ElfW(Addr) base) {
    return pointer < base ? pointer + base : pointer;
}

/* The functions standing in, in the order they are patched: read last, so that a failure
   part way never leaves buffered reads that poll does not know of (those would wait for bytes
   that have already arrived). */
static const char *const names[] = {"close", "poll", "read"};
#define NAME_COUNT 3

static void *replacement(int index) {
    switch (index) {
    case 0: return (void *)mt_session_close;
    case 1: return (void *)mt_session_poll;
    default: return (void *)mt_session_read;
    }
}

struct relocations {
    const ElfW(Rela) *entries;
    size_t count;
};

static int patch(void **slot, void *function, const struct found_library *lib) {
    ElfW(Addr) at = (ElfW(Addr))slot;
    if (at < lib->relro_start || at >= lib->relro_end) {
        *slot = function;
        return 0;
    }
    long page = sysconf(_SC_PAGESIZE);
    void *start = (void *)(at & ~(ElfW(Addr))(page - 1));
    if (mprotect(start, (size_t)page, PROT_READ | PROT_WRITE) != 0) return -1;
    *slot = function;
    return mprotect(start, (size_t)page, PROT_READ);
}

/* Counts the entries for names[n] in the two tables (a library may have more than one),
   and with `patching` points each at its replacement; -1 when a patch fails. */
static int visit(const struct relocations tables[2], const ElfW(Sym) *symbols, const char *strings,
                 int n, const struct found_library *lib, int patching) {
    int count = 0;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < tables[t].count; i++) {
            const ElfW(Rela) *r = &tables[t].entries[i];
            unsigned long type = ELF64_R_TYPE(r->r_info);
            if (type != JUMP_SLOT && type != GLOB_DAT) continue;
            if (strcmp(strings + symbols[ELF64_R_SYM(r->r_info)].st_name, names[n]) != 0) continue;
            if (patching && patch((void **)(lib->base + r->r_offset), replacement(n), lib) != 0) return -1;
            count++;
        }
    }
    return count;
}

int mt_libmilter_io_install(const char *library, int hold, const char **why) {
#if !defined(JUMP_SLOT)
    (void)library; (void)hold;
    *why = "not supported on this architecture";
    return -1;
#else
    struct found_library lib = {library, 0, NULL, 0, 0};
    if (!dl_iterate_phdr(find_library, &lib)) {
        *why = "library not loaded";
        return -1;
    }
    if (lib.dynamic == NULL) {
        *why = "library has no dynamic section";
        return -1;
    }
    const ElfW(Sym) *symbols = NULL;
    const char *strings = NULL;
    const ElfW(Rela) *plt = NULL, *rela = NULL;
    size_t plt_size = 0, rela_size = 0;
    ElfW(Sxword) plt_kind = DT_RELA;
    for (const ElfW(Dyn) *d = lib.dynamic; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symbols = (const ElfW(Sym) *)address(d->d_un.d_ptr, lib.base); break;
        case DT_STRTAB: strings = (const char *)address(d->d_un.d_ptr, lib.base); break;
        case DT_JMPREL: plt = (const ElfW(Rela) *)address(d->d_un.d_ptr, lib.base); break;
        case DT_PLTRELSZ: plt_size = d->d_un.d_val; break;
        case DT_PLTREL: plt_kind = (ElfW(Sxword))d->d_un.d_val; break;
        case DT_RELA: rela = (const ElfW(Rela) *)address(d->d_un.d_ptr, lib.base); break;
        case DT_RELASZ: rela_size = d->d_un.d_val; break;
        }
    }
    if (symbols == NULL || strings == NULL || plt_kind != DT_RELA) {
        *why = "library's dynamic section lacks symbols or RELA relocations";
        return -1;
    }
    struct relocations tables[2] = {{plt, plt ? plt_size / sizeof(ElfW(Rela)) : 0},
                                    {rela, rela ? rela_size / sizeof(ElfW(Rela)) : 0}};
    /* All three or none. */
    for (int n = 0; n < NAME_COUNT; n++) {
        if (visit(tables, symbols, strings, n, &lib, 0) == 0) {
            *why = "library does not call read, poll and close through its global offset table";
            return -1;
        }
    }
    mt_session_set_hold(hold);
    int total = 0;
    for (int n = 0; n < NAME_COUNT; n++) {
        int patched = visit(tables, symbols, strings, n, &lib, 1);
        if (patched < 0) {
            *why = "mprotect refused to open the global offset table";
            return -1;
        }
        total += patched;
    }
    return total;
#endif
}
