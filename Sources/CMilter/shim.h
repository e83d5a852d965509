#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmilter/mfapi.h>
