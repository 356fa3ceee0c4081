/* SPDX-License-Identifier: MIT */
/*
 * Loopsets: N loops, each run forever by a thread of its own, started and stopped together
 * (one loop per core for a multi-core service, or one background loop for a program whose main
 * thread belongs to something else).
 *
 * The loops are created on the starting thread, so set-up errors (io_uring refused, no memory)
 * come back from weft_loopset_start itself; each thread then binds its loop by running it
 * and closes it when stopped, since only the owner thread may drain a loop.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "weft/thread.h"
#include "abi.h"
#include "alloc.h"
#include "loop.h"

struct member {
	struct weft_loopset *group;
	weft_loop *loop;
	pthread_t thread;
	unsigned index;
	int cpu; /* -1: not pinned */
	int close_err;
};

struct weft_loopset {
	unsigned n, started;
	struct member *members;
	weft_task_fn main;
	void *arg;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned mains_left;
	int status; /* the first failing main's status, else 0 */
};

static __thread int group_index = -1;

/* The task every loop starts with: the user's main, whose end the group counts. */
static int member_main(void *arg)
{
	struct member *m = arg;
	struct weft_loopset *g = m->group;
	int status = g->main(g->arg);

	pthread_mutex_lock(&g->mu);
	if (status < 0 && g->status == 0)
		g->status = status;
	if (--g->mains_left == 0)
		pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return status;
}

static void pin(struct member *m)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(m->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "weft: could not pin loop %u to CPU %d\n", m->index, m->cpu);
}

static void *member_thread(void *arg)
{
	struct member *m = arg;
	struct weft_loopset *g = m->group;
	const struct weft_task_opts topts = {.name = "group-main"};

	group_index = (int)m->index;
	if (m->cpu >= 0)
		pin(m);
	/* Spawned here, not by the starter: the loop's first thread to touch it must be its own. */
	if (g->main && weft_loop_spawn(m->loop, NULL, member_main, m, &topts)) {
		/* No memory for one task: count its main as failed so wait() does not hang. */
		pthread_mutex_lock(&g->mu);
		if (g->status == 0)
			g->status = -ENOMEM;
		if (--g->mains_left == 0)
			pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
	}
	weft_loop_run_forever(m->loop);
	m->close_err = weft_loop_close(m->loop);
	return NULL;
}

/* The CPUs this process may run on, in order: loop i is pinned to the (i mod count)-th. */
static void assign_cpus(struct weft_loopset *g, bool pin_them)
{
	cpu_set_t allowed;
	int cpus[CPU_SETSIZE], ncpu = 0;

	if (pin_them && sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed))
				cpus[ncpu++] = c;
	for (unsigned i = 0; i < g->n; i++)
		g->members[i].cpu = ncpu ? cpus[i % (unsigned)ncpu] : -1;
}

static unsigned default_nloops(void)
{
	cpu_set_t allowed;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0)
		return (unsigned)CPU_COUNT(&allowed);
	return 1;
}

/* Stop the loops whose threads run, join them, close the rest, free everything. */
static int group_free(struct weft_loopset *g)
{
	int r = 0;

	for (unsigned i = 0; i < g->started; i++)
		weft_loop_stop(g->members[i].loop);
	for (unsigned i = 0; i < g->n; i++) {
		struct member *m = &g->members[i];

		if (i < g->started)
			pthread_join(m->thread, NULL);
		else if (m->loop)
			m->close_err = weft_loop_close(m->loop);
		if (m->close_err < 0 && r == 0)
			r = m->close_err;
	}
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	weft__delete_array(g->members, g->n);
	weft__delete(g);
	return r;
}

static int group_alloc(struct weft_loopset **gp, const struct weft_loopset_opts *opts)
{
	struct weft_loopset *g = weft__new(struct weft_loopset);

	if (!g)
		return -ENOMEM;
	g->n = opts->nloops ? opts->nloops : default_nloops();
	g->members = weft__new_array(struct member, g->n);
	if (!g->members) {
		weft__delete(g);
		return -ENOMEM;
	}
	g->main = opts->main;
	g->arg = opts->arg;
	g->mains_left = opts->main ? g->n : 0;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	*gp = g;
	return 0;
}

int weft_loopset_start(weft_loopset **gp, const struct weft_loopset_opts *opts)
{
	struct weft_loopset *g;
	int r;

	if (!gp || !opts || opts->nloops > 4096 || weft__reserved_bad(opts))
		return -EINVAL;
	r = group_alloc(&g, opts);
	if (r)
		return r;
	assign_cpus(g, opts->pin);
	for (unsigned i = 0; i < g->n; i++) {
		struct member *m = &g->members[i];

		m->group = g;
		m->index = i;
		r = weft_loop_new(&m->loop, opts->loop_opts);
		if (r) {
			group_free(g);
			return r;
		}
	}
	for (; g->started < g->n; g->started++) {
		struct member *m = &g->members[g->started];

		r = -pthread_create(&m->thread, NULL, member_thread, m);
		if (r) {
			group_free(g);
			return r;
		}
	}
	*gp = g;
	return 0;
}

unsigned weft_loopset_size(const weft_loopset *g)
{
	return g ? g->n : 0;
}

weft_loop *weft_loopset_loop(const weft_loopset *g, unsigned i)
{
	return g && i < g->n ? g->members[i].loop : NULL;
}

int weft_loopset_index(void)
{
	return group_index;
}

int weft_loopset_wait(weft_loopset *g)
{
	int status;

	if (!g)
		return -EINVAL;
	if (weft__loop())
		return -EBUSY; /* it would block a loop's thread, maybe one of the group's own */
	pthread_mutex_lock(&g->mu);
	while (g->mains_left)
		pthread_cond_wait(&g->cv, &g->mu);
	status = g->status;
	pthread_mutex_unlock(&g->mu);
	return status;
}

int weft_loopset_stop(weft_loopset *g)
{
	if (!g)
		return -EINVAL;
	if (group_index >= 0 || weft__loop())
		return -EBUSY; /* a member's own thread would wait for itself */
	return group_free(g);
}
