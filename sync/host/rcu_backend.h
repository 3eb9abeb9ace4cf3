/* sync/host/rcu_backend.h - RCU on the host is liburcu (memb flavour). */
#ifndef KESTREL_HOST_RCU_BACKEND_H
#define KESTREL_HOST_RCU_BACKEND_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE	/* inline read-side fast paths from urcu/static/ */
#endif
#define URCU_API_MAP	/* keep the rcu_* -> urcu_memb_* name maps */
#include <urcu/urcu-memb.h>

/* rcu_register_thread()/rcu_unregister_thread() come from the map above. */

#endif
