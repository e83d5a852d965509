// libFuzzer's entry point for programs that have their own main (compiler-rt's
// FuzzerInterface.h). It is defined in libclang_rt.fuzzer, which `-sanitize=fuzzer` links.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
