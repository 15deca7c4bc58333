/* A stand-in for the shim when valgrind is the reference: one TLS module, as
 * libheapcreep.so has, so that with libunwind (the other TLS module the shim
 * brings) preloaded beside it ld.so gives each thread a DTV of the same size
 * under valgrind as under the shim. It does nothing else. */
__thread int hc_tls_standin;
