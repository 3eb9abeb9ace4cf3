/* sync/host/rcu_backend.h - RCU on the host is liburcu (memb flavour). */
#ifndef KESTREL_HOST_RCU_BACKEND_H
#define KESTREL_HOST_RCU_BACKEND_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE	/* inline read-side fast paths from urcu/static/ */
#endif
#include <urcu/urcu-memb.h>

#define rcu_thread_online()  urcu_memb_register_thread()
#define rcu_thread_offline() urcu_memb_unregister_thread()

#endif
