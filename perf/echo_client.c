/* SPDX-License-Identifier: MIT */
/*
 * perf/echo_client - the load generator of the net suite (perf/net.sh), a weft program: one loop,
 * one fiber per connection (two - a writer and a reader - in open loop, and in closed loop when a
 * burst of -d messages exceeds 64 KiB, where a writer blocked on a full socket must not stop the
 * reads that drain it).
 *
 * Every message carries a pattern derived from its connection and sequence number, and every
 * echoed byte is checked against it: a server that drops, reorders, duplicates or corrupts a byte
 * fails the run (exit 1).
 *
 * Closed loop (-r 0): each connection keeps -d messages in flight; each echoed message is replaced
 * at once (the replies of one read are answered with one write). Open loop (-r RATE): messages are
 * due at a fixed rate spread evenly over the connections (their schedules staggered), sent on a
 * tick grid (-i) so that all connections due in one tick go to the kernel in one batch and share
 * one timer; a connection with -d messages in flight waits, and the run reports the rate it really
 * offered. Latency is from the moment a message was written to the moment its last byte came back.
 *
 * Usage: echo_client [-h HOST] [-p PORT] [-c CONNS] [-s SIZE] [-d DEPTH] [-T SECONDS]
 *                    [-w WARMUP] [-r RATE] [-i TICK_US] [-P SERVER_PID] [-I] [-j]
 *   -h  server address (default 127.0.0.1)          -p  port (default 7000)
 *   -c  connections (default 64)                     -s  message size in bytes (default 64)
 *   -d  messages in flight per connection (default 1; open loop default 8)
 *   -T  measured seconds (default 5)                 -w  warm-up seconds before it (default 0.5)
 *   -r  offered rate in msgs/s over all connections; 0 = closed loop (default)
 *   -i  open-loop tick in µs (default 500)
 *   -P  server pid: report its CPU time per message over the measured window, from utime+stime
 *       in /proc/PID/stat (and the finer sum of /proc/PID/task/x/schedstat beside it)
 *   -I  idle: open the connections, print "ready N", hold them for -T seconds, close
 * Exit status: 0, 1 on any failure (connect, a verification error, a server that stopped echoing),
 * 2 on bad usage. Raises its fd limit to fit -c connections.
 *   -j  print one JSON line of results instead of the human summary
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "weft.h"
#include "weft/net.h"

static const char *opt_host = "127.0.0.1";
static int opt_port = 7000;
static int opt_conns = 64;
static size_t opt_size = 64;
static int opt_depth = 0; /* 0: the mode's default */
static double opt_secs = 5;
static double opt_warm = 0.5;
static double opt_rate;
static int64_t opt_tick = 500000;
static int opt_pid;
static bool opt_idle;
static bool opt_json;

static weft_sockaddr server_addr;

/* ---- the measurement window ---------------------------------------------------------------- */

static int64_t t_begin, t_end; /* measured window [t_begin, t_end) */
static int64_t t_stop;	       /* no new messages after this */
static bool stopping;
static int failed; /* first fatal error; stops everything */

static uint64_t win_msgs, win_bytes, win_sent, total_msgs;
/* Open loop: sends that waited for a free slot; messages written over LATE_NS after their due
 * time (the client was held up: its runs offered bursts instead of the steady rate). */
static uint64_t slot_waits, late_msgs;
#define LATE_NS (opt_tick + 1000000)
static int conns_up;

/* Latency histogram: log-linear buckets (32 per power of two) over nanoseconds. */
#define SUB_BITS 5
static uint64_t hist[64 << SUB_BITS];
static uint64_t hist_n;

static void hist_add(int64_t ns)
{
	uint64_t v = ns > 0 ? (uint64_t)ns : 1;
	int msb = 63 - __builtin_clzll(v);
	unsigned idx;

	if (msb < SUB_BITS)
		idx = (unsigned)v;
	else
		idx = (unsigned)((msb - SUB_BITS + 1) << SUB_BITS) +
		      (unsigned)((v >> (msb - SUB_BITS)) & ((1u << SUB_BITS) - 1));
	hist[idx]++;
	hist_n++;
}

/* The upper edge of bucket @idx, in ns. */
static double hist_value(unsigned idx)
{
	unsigned major = idx >> SUB_BITS, minor = idx & ((1u << SUB_BITS) - 1);

	if (major == 0)
		return minor;
	return ldexp((double)((1u << SUB_BITS) + minor + 1), (int)major - 1);
}

static double hist_pct(double p)
{
	uint64_t want = (uint64_t)ceil(p * (double)hist_n), seen = 0;

	if (!hist_n)
		return NAN;
	for (unsigned i = 0; i < sizeof(hist) / sizeof(hist[0]); i++) {
		seen += hist[i];
		if (seen >= want && seen)
			return hist_value(i);
	}
	return NAN;
}

/* Server CPU time: utime+stime (clock ticks) and the schedstat run time of all its threads. */
struct srv_cpu {
	double stat_s, sched_s;
};

static void server_cpu(struct srv_cpu *c)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	DIR *d;
	struct dirent *e;

	c->stat_s = c->sched_s = NAN;
	if (!opt_pid)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", opt_pid);
	f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		fclose(f);
		/* Fields after the command name (which may hold spaces) start past the last ')'. */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
				&st) == 2)
			c->stat_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	snprintf(path, sizeof(path), "/proc/%d/task", opt_pid);
	d = opendir(path);
	if (d) {
		double sum = 0;
		while ((e = readdir(d))) {
			unsigned long long run;
			if (e->d_name[0] == '.')
				continue;
			snprintf(buf, sizeof(buf), "/proc/%d/task/%s/schedstat", opt_pid,
				 e->d_name);
			f = fopen(buf, "r");
			if (!f)
				continue;
			if (fscanf(f, "%llu", &run) == 1)
				sum += (double)run / 1e9;
			fclose(f);
		}
		closedir(d);
		c->sched_s = sum;
	}
}

/* ---- message patterns ---------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Message @seq of connection @id: 8-byte words seed + j * odd constant, the last one cut short. */
static void pattern(unsigned char *dst, uint32_t id, uint64_t seq)
{
	uint64_t seed = mix64((uint64_t)id << 40 ^ seq), w;
	size_t j, words = opt_size / 8;

	for (j = 0; j < words; j++) {
		w = seed + j * 0x9e3779b97f4a7c15ULL;
		memcpy(dst + j * 8, &w, 8);
	}
	if (opt_size % 8) {
		w = seed + j * 0x9e3779b97f4a7c15ULL;
		memcpy(dst + j * 8, &w, opt_size % 8);
	}
}

/* ---- connections --------------------------------------------------------------------------- */

struct conn {
	uint32_t id;
	weft_sock *sock;
	uint64_t sent;	/* messages written */
	uint64_t recvd; /* messages fully echoed */
	size_t roff;	/* bytes of message `recvd` already checked */
	int depth;
	int64_t *ts;	       /* write time of each message in flight, by seq % depth */
	unsigned char *expect; /* message `recvd`, generated when its first byte arrives */
	unsigned char *rbuf, *wbuf;
	size_t rcap;
	weft_event *credit; /* open loop: set by the reader when a slot frees */
	bool writer_waits;
	bool reader_quit;	     /* everything came back: the reader is cancelled */
	int64_t first_due, interval; /* open loop schedule */
};

static struct conn *conns;

static void fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(int err, const char *fmt, ...)
{
	va_list ap;

	if (!failed) {
		failed = err ? err : -EPROTO;
		va_start(ap, fmt);
		fputs("echo_client: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	stopping = true;
}

/* Connect, retrying a refused connect for a while: the server may still be starting. */
static int sock_connect(struct conn *c)
{
	int64_t give_up = weft_now() + 5000000000LL;

	for (;;) {
		int r = weft_tcp_connect(&c->sock, &server_addr);

		if (r != -ECONNREFUSED || weft_now() > give_up)
			return r;
		if ((r = weft_sleep(20000000)))
			return r;
	}
}

/* Write @k new messages in one send. */
static int send_msgs(struct conn *c, int k)
{
	int64_t now = weft_now();
	int r;

	for (int i = 0; i < k; i++) {
		pattern(c->wbuf + (size_t)i * opt_size, c->id, c->sent + (uint64_t)i);
		c->ts[(c->sent + (uint64_t)i) % (uint64_t)c->depth] = now;
	}
	c->sent += (uint64_t)k;
	if (now >= t_begin && now < t_end)
		win_sent += (uint64_t)k;
	r = (int)weft_sock_send(c->sock, c->wbuf, (size_t)k * opt_size);
	if (r < 0)
		fail(r, "connection %u: send: %s", c->id, strerror(-r));
	return r < 0 ? r : 0;
}

/* Check @n received bytes against the pattern; returns how many messages they completed. */
static int check_bytes(struct conn *c, const unsigned char *p, size_t n, int64_t now)
{
	int done = 0;

	while (n) {
		size_t take = opt_size - c->roff;

		if (take > n)
			take = n;
		if (c->recvd >= c->sent) {
			fail(-EPROTO, "connection %u: %zu bytes echoed that were never sent", c->id,
			     n);
			return -1;
		}
		if (c->roff == 0)
			pattern(c->expect, c->id, c->recvd);
		if (memcmp(p, c->expect + c->roff, take)) {
			size_t at = 0;
			while (p[at] == c->expect[c->roff + at])
				at++;
			fail(-EPROTO,
			     "connection %u: message %" PRIu64 " byte %zu: got 0x%02x, sent 0x%02x",
			     c->id, c->recvd, c->roff + at, p[at], c->expect[c->roff + at]);
			return -1;
		}
		c->roff += take;
		p += take;
		n -= take;
		if (c->roff == opt_size) {
			c->roff = 0;
			total_msgs++;
			if (now >= t_begin && now < t_end) {
				win_msgs++;
				hist_add(now - c->ts[c->recvd % (uint64_t)c->depth]);
			}
			c->recvd++;
			done++;
		}
	}
	return done;
}

/* One read: returns messages completed, 0 if none yet, -1 at EOF or on an error. */
static int read_some(struct conn *c)
{
	ssize_t n = weft_sock_recv(c->sock, c->rbuf, c->rcap);
	int64_t now;

	if (n <= 0) {
		if (n == -ECANCELED && c->reader_quit)
			return -1; /* the drained reader is told to go */
		if (n == 0)
			fail(-ECONNRESET,
			     "connection %u: server closed the connection with %" PRIu64
			     " messages in flight",
			     c->id, c->sent - c->recvd);
		else
			fail((int)n, "connection %u: recv: %s", c->id, strerror((int)-n));
		return -1;
	}
	now = weft_now();
	if (now >= t_begin && now < t_end)
		win_bytes += (uint64_t)n;
	return check_bytes(c, c->rbuf, (size_t)n, now);
}

/* Closed loop: keep `depth` messages in flight until the stop time, then drain. */
static int closed_fiber(void *arg)
{
	struct conn *c = arg;
	int r, k;

	if ((r = send_msgs(c, c->depth)))
		return r;
	while (!failed) {
		if (c->recvd == c->sent && stopping)
			break;
		k = read_some(c);
		if (k < 0)
			return -1;
		if (k && !stopping && (r = send_msgs(c, k)))
			return r;
	}
	return 0;
}

/* Writer of a two-fiber connection. Open loop: messages are due every `interval` from
 * `first_due`, sent on ticks. Closed loop (large messages): a new one whenever a slot frees. */
static int writer_fiber(void *arg)
{
	struct conn *c = arg;

	for (;;) {
		int64_t now = weft_now(), due_total = 0, want, room;
		int r;

		if (failed || stopping || now >= t_stop)
			break;
		room = c->depth - (int64_t)(c->sent - c->recvd);
		if (opt_rate > 0) {
			due_total = now < c->first_due ? 0 : (now - c->first_due) / c->interval + 1;
			want = due_total - (int64_t)c->sent;
		} else {
			want = room;
		}
		if (want > 0 && room > 0) {
			int k = (int)(want < room ? want : room);
			if (opt_rate > 0 && now >= t_begin && now < t_end) {
				/* Message `sent` was due at first_due + sent * interval. */
				int64_t late = now - LATE_NS - c->first_due;
				int64_t on_time = late < 0 ? 0 : late / c->interval + 1;
				if (on_time > (int64_t)c->sent)
					late_msgs += (uint64_t)((on_time - (int64_t)c->sent) < k
								    ? on_time - (int64_t)c->sent
								    : k);
			}
			if ((r = send_msgs(c, k)))
				return r;
			continue;
		}
		if (room <= 0) {
			/* No free slot: wait for the reader to free one. */
			if (opt_rate > 0 && want > 0 && now >= t_begin && now < t_end)
				slot_waits++;
			c->writer_waits = true;
			weft_event_clear(c->credit);
			r = weft_event_wait(c->credit);
			c->writer_waits = false;
			if (r)
				return r;
			continue;
		}
		/* Sleep to the tick on or after the next due time: connections share timers. */
		int64_t next = c->first_due + due_total * c->interval;
		next = (next + opt_tick - 1) / opt_tick * opt_tick;
		if (next > t_stop)
			next = t_stop;
		if ((r = weft_sleep_until(next)))
			return r;
	}
	return 0;
}

/* Reader of a two-fiber connection: runs until cancelled once the writer has stopped and all came back. */
static int reader_fiber(void *arg)
{
	struct conn *c = arg;

	while (!failed) {
		int k = read_some(c);
		if (k < 0)
			return c->reader_quit ? 0 : -1;
		if (k && c->writer_waits)
			weft_event_set(c->credit);
	}
	return 0;
}

/* Wait (polling: it happens once per run) until every message sent has come back. */
static int drain(struct conn *c)
{
	int64_t give_up = weft_now() + 5000000000LL;

	while (c->recvd < c->sent && !failed) {
		if (weft_now() > give_up) {
			fail(-ETIMEDOUT, "connection %u: %" PRIu64 " messages never came back",
			     c->id, c->sent - c->recvd);
			return -ETIMEDOUT;
		}
		weft_sleep(1000000);
	}
	return failed;
}

/* Closed-loop bursts above this many bytes get a separate reader fiber. */
#define SPLIT_BYTES (64 * 1024)

static weft_event *go;	     /* set when every connection is up and the clock starts */
static weft_sem *connecting; /* connects in flight, bounded so the listen backlog keeps up */
static int conns_done;

static int conn_run(struct conn *c)
{
	weft_task *reader;
	int r, st = 0;

	r = weft_sem_acquire(connecting);
	if (r)
		return r;
	r = sock_connect(c);
	weft_sem_release(connecting);
	if (r) {
		fail(r, "connection %u: connect to %s:%d: %s", c->id, opt_host, opt_port,
		     strerror(-r));
		return r;
	}
	conns_up++;
	if (opt_idle)
		return 0; /* the socket stays open until main closes it */
	if ((r = weft_event_wait(go)) || failed)
		return r ? r : failed;
	/* One fiber per connection is cheapest. But a writer that blocks while the server is
	 * blocked writing back to us would deadlock once a burst outgrows the socket buffers, and
	 * the open loop's writer keeps its own schedule: those get a writer and a reader. */
	if (opt_rate <= 0 && (size_t)c->depth * opt_size <= SPLIT_BYTES)
		return closed_fiber(c);

	if (opt_rate > 0) {
		c->interval = (int64_t)(1e9 * opt_conns / opt_rate);
		c->first_due =
		    t_begin - (int64_t)(opt_warm * 1e9) + c->interval * c->id / opt_conns;
	}
	if ((r = weft_event_new(NULL, &c->credit)))
		return r;
	if ((r = weft_task_spawn(&reader, reader_fiber, c,
				 &(struct weft_task_opts){.stack_size = 32768})))
		return r;
	r = writer_fiber(c);
	if (!r)
		r = drain(c);
	c->reader_quit = true;
	weft_task_cancel(reader);
	weft_task_join(reader, &st);
	weft_event_free(c->credit);
	return r ? r : st;
}

static int conn_fiber(void *arg)
{
	int r = conn_run(arg);

	conns_done++;
	return r;
}

static int client_main(void *arg)
{
	int64_t t0, connected;
	struct srv_cpu cpu0, cpu1;
	struct rusage ru0, ru1;
	weft_task **tasks;
	int r;

	(void)arg;
	tasks = calloc((size_t)opt_conns, sizeof(*tasks));
	if (!tasks)
		return -ENOMEM;
	if ((r = weft_event_new(NULL, &go)) || (r = weft_sem_new(NULL, &connecting, 256, 256)))
		return r;
	t0 = weft_now();
	for (int i = 0; i < opt_conns; i++) {
		struct weft_task_opts to = {.stack_size = 32768};
		if ((r = weft_task_spawn(&tasks[i], conn_fiber, &conns[i], &to)))
			return r;
	}
	while (conns_up < opt_conns && !failed)
		weft_sleep(1000000);
	connected = weft_now();
	if (!failed) {
		int64_t warm = (int64_t)(opt_warm * 1e9);
		/* Start the clock: warm-up, then the measured window, then stop. */
		t_begin = connected + warm;
		t_end = t_begin + (int64_t)(opt_secs * 1e9);
		t_stop = t_end;
		if (opt_idle) {
			printf("ready %d\n", opt_conns);
			fflush(stdout);
			t_begin = connected;
			t_end = t_stop = connected + (int64_t)(opt_secs * 1e9);
		}
		weft_event_set(go);
		weft_sleep_until(t_begin);
		server_cpu(&cpu0);
		getrusage(RUSAGE_SELF, &ru0);
		weft_sleep_until(t_end);
		server_cpu(&cpu1);
		getrusage(RUSAGE_SELF, &ru1);
	}
	stopping = true;
	weft_event_set(go);
	/* Closed-loop fibers drain on their own; a server that stopped echoing must not hang us. */
	for (int64_t give_up = weft_now() + 6000000000LL; conns_done < opt_conns;) {
		if (weft_now() > give_up) {
			fail(-ETIMEDOUT, "%d connections still waiting for echoes after the run",
			     opt_conns - conns_done);
			for (int i = 0; i < opt_conns; i++)
				weft_task_cancel(tasks[i]);
			break;
		}
		weft_sleep(2000000);
	}
	for (int i = 0; i < opt_conns; i++) {
		int st = 0;
		weft_task_join(tasks[i], &st);
		weft_sock_close(conns[i].sock);
	}
	free(tasks);
	if (failed)
		return failed;

	double win = (double)(t_end - t_begin) / 1e9;
	double rate = (double)win_msgs / win;
	double ccpu = ((double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		       (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		       (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		       (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6) /
		      win;
	double scpu = win_msgs ? (cpu1.stat_s - cpu0.stat_s) * 1e6 / (double)win_msgs : NAN;
	double ssched = win_msgs ? (cpu1.sched_s - cpu0.sched_s) * 1e6 / (double)win_msgs : NAN;
	double p50 = hist_pct(0.50) / 1e3, p99 = hist_pct(0.99) / 1e3, p999 = hist_pct(0.999) / 1e3;
	double offered = (double)win_sent / win;
	double late_frac = win_sent ? (double)late_msgs / (double)win_sent : 0;

	if (opt_idle) {
		if (!opt_json)
			printf("held %d connections for %.1f s (connect took %.2f s)\n", opt_conns,
			       win, (double)(connected - t0) / 1e9);
		else
			printf("{\"conns\":%d,\"connect_s\":%.3f}\n", opt_conns,
			       (double)(connected - t0) / 1e9);
		return 0;
	}
	if (!win_msgs) {
		fprintf(stderr, "echo_client: no message echoed in the measured window\n");
		return -EPROTO;
	}
	if (opt_json) {
		char s1[32], s2[32];
		snprintf(s1, sizeof(s1), "%.4f", scpu);
		snprintf(s2, sizeof(s2), "%.4f", ssched);
		printf(
		    "{\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,\"offered_per_s\":%.1f,"
		    "\"target_rate\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
		    "\"conns\":%d,\"size\":%zu,\"depth\":%d,\"secs\":%.3f,\"window_msgs\":%" PRIu64
		    ",\"total_msgs\":%" PRIu64 ",\"slot_waits\":%" PRIu64 ",\"late_frac\":%.4f,"
		    "\"client_cpu\":%.3f,"
		    "\"server_cpu_us_per_msg\":%s,\"server_sched_us_per_msg\":%s}\n",
		    rate, (double)win_bytes / win / 1e6, offered, opt_rate, p50, p99, p999,
		    opt_conns, opt_size, conns[0].depth, win, win_msgs, total_msgs, slot_waits,
		    late_frac, ccpu, isnan(scpu) ? "null" : s1, isnan(ssched) ? "null" : s2);
	} else {
		printf("%d conns x %zu B, depth %d, %s: %.0f msgs/s (%.1f MB/s), p50 %.1f us, "
		       "p99 %.1f us, p99.9 %.1f us; client cpu %.0f%%\n",
		       opt_conns, opt_size, conns[0].depth,
		       opt_rate > 0 ? "open loop" : "closed loop", rate,
		       (double)win_bytes / win / 1e6, p50, p99, p999, ccpu * 100);
		if (opt_rate > 0)
			printf("offered %.0f msgs/s of %.0f targeted; %.2f%% written over %.1f ms "
			       "late; %" PRIu64 " sends waited for a free slot\n",
			       offered, opt_rate, late_frac * 100, (double)LATE_NS / 1e6,
			       slot_waits);
		if (opt_pid)
			printf("server cpu %.3f us/msg (schedstat %.3f us/msg)\n", scpu, ssched);
	}
	return 0;
}

static int resolve(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char port[16];
	int r;

	snprintf(port, sizeof(port), "%d", opt_port);
	r = getaddrinfo(opt_host, port, &hints, &res);
	if (r) {
		fprintf(stderr, "echo_client: %s: %s\n", opt_host, gai_strerror(r));
		return -1;
	}
	memcpy(&server_addr.ss, res->ai_addr, res->ai_addrlen);
	server_addr.len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: echo_client [-h HOST] [-p PORT] [-c CONNS] [-s SIZE] [-d DEPTH] "
			"[-T SECONDS] [-w WARMUP] [-r RATE] [-i TICK_US] [-P PID] [-I] [-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct weft_loop_opts lo = {.debug = WEFT_DEBUG_OFF, .sq_entries = 1024};
	struct rlimit rl;
	size_t need;
	int c, r;

	while ((c = getopt(argc, argv, "h:p:c:s:d:T:w:r:i:P:Ij")) != -1) {
		switch (c) {
		case 'h':
			opt_host = optarg;
			break;
		case 'p':
			opt_port = atoi(optarg);
			break;
		case 'c':
			opt_conns = atoi(optarg);
			break;
		case 's':
			opt_size = (size_t)atol(optarg);
			break;
		case 'd':
			opt_depth = atoi(optarg);
			break;
		case 'T':
			opt_secs = atof(optarg);
			break;
		case 'w':
			opt_warm = atof(optarg);
			break;
		case 'r':
			opt_rate = atof(optarg);
			break;
		case 'i':
			opt_tick = (int64_t)(atof(optarg) * 1000);
			break;
		case 'P':
			opt_pid = atoi(optarg);
			break;
		case 'I':
			opt_idle = true;
			break;
		case 'j':
			opt_json = true;
			break;
		default:
			usage();
		}
	}
	if (optind < argc || opt_conns < 1 || opt_size < 1 || opt_size > (64u << 20) ||
	    opt_depth < 0 || opt_secs <= 0 || opt_warm < 0 || opt_rate < 0 || opt_tick < 1000 ||
	    opt_port <= 0 || opt_port > 65535)
		usage();
	if (!opt_depth)
		opt_depth = opt_rate > 0 ? 8 : 1;
	signal(SIGPIPE, SIG_IGN);
	if (resolve())
		return 1;

	/* Each connection is a socket; the ring, the eventfd and stdio need a few more. */
	need = (size_t)opt_conns + 64;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < need) {
		rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < need) {
			fprintf(stderr,
				"echo_client: %d connections need %zu fds, hard limit is %lu\n",
				opt_conns, need, (unsigned long)rl.rlim_max);
			return 1;
		}
	}
	conns = calloc((size_t)opt_conns, sizeof(*conns));
	if (!conns)
		return 1;
	for (int i = 0; i < opt_conns; i++) {
		struct conn *k = &conns[i];
		size_t w = (size_t)opt_depth * opt_size;

		k->id = (uint32_t)i;
		k->depth = opt_depth;
		if (opt_idle)
			continue;
		k->rcap = w < 4096 ? 4096 : w > 262144 ? 262144 : w;
		k->ts = calloc((size_t)opt_depth, sizeof(*k->ts));
		k->expect = malloc(opt_size);
		k->rbuf = malloc(k->rcap);
		k->wbuf = malloc(w);
		if (!k->ts || !k->expect || !k->rbuf || !k->wbuf)
			return 1;
	}
	r = weft_run(client_main, NULL, &lo);
	if (r) {
		if (r != failed)
			fprintf(stderr, "echo_client: %s\n", weft_strerror(r));
		return 1;
	}
	return 0;
}
