/*
 * sync/kernel/ck_md.h - ck's machine description for the Kestrel kernel.
 *
 * Shadows the libck-dev package's ck_md.h (this directory comes first on the
 * kernel include path). Same settings as the installed one except that SSE
 * is not enabled: the kernel is built -mgeneral-regs-only and never saves
 * vector state. x86_64 is TSO, which lets ck elide load/store fences.
 */
#ifndef CK_MD_H
#define CK_MD_H

#define CK_MD_CACHELINE (64)
#define CK_MD_PAGESIZE (4096)
#define CK_MD_RTM_DISABLE
#define CK_MD_LSE_DISABLE
#define CK_MD_POINTER_PACK_DISABLE
#define CK_MD_PPC32_LWSYNC_DISABLE
#define CK_MD_VMA_BITS 48ULL
#define CK_MD_TSO
#define CK_VERSION "0.7.1"
#define CK_GIT_SHA ""

#endif /* CK_MD_H */
