/*
 * store.h: a host's share of a host-local checkpoint folder, kept by its
 * ckpt-beat (store.c).
 */
#ifndef CKPT_STORE_H
#define CKPT_STORE_H

/* Keeps folder dir on this host, for the coordinator coord_tid. */
void store_init(const char *dir, int coord_tid);
/* Carries out message bufid (tag, from src) if it is a store order or a
 * piece of a copy: 1, else 0 (not one of ours). */
int store_message(int bufid, int tag, int src);

#endif
