#ifndef PRD_INTERNAL_FORK_H
#define PRD_INTERNAL_FORK_H
/*
 * fork() detection for objects that hold locks, threads or counts that a
 * child does not inherit in a usable state (another thread may have held
 * the lock; the threads are gone). prd__fork_epoch counts the forks into
 * this process (a pthread_atfork child handler), so "am I in a child?" is
 * one atomic load instead of a getpid() system call (about a microsecond
 * on virtual machines).
 */
#include <stdatomic.h>

/* Registers the handler, once per process; call it before recording an
 * epoch (at an object's creation). */
void prd__watch_forks(void);
unsigned long prd__fork_epoch(void);
/* 1 for the one caller that sees *seen behind the current epoch, which
 * then moves it on and must remake what the fork left unusable; 0 for
 * every other call (no fork since, or another caller adopted it). */
int prd__fork_adopt(_Atomic unsigned long *seen);
#endif
