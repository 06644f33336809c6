/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Small helpers the benchmarks share: clock, CPU pinning, order statistics,
 * the environment header and a report that goes to stdout and to a file.
 * Header-only: every .c file of selftests/bench builds into a program.
 */
#ifndef MERIDIAN_BENCH_UTIL_H
#define MERIDIAN_BENCH_UTIL_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* CLOCK_MONOTONIC: the clock bpf_ktime_get_ns() reads too. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The highest-numbered CPU we may run on, unless want >= 0. */
static inline int bench_pin_cpu(int want)
{
	cpu_set_t set;
	int cpu;

	if (want < 0) {
		if (sched_getaffinity(0, sizeof(set), &set)) {
			log_err("sched_getaffinity: %s", strerror(errno));
			return -errno;
		}
		for (cpu = CPU_SETSIZE - 1; cpu > 0; cpu--)
			if (CPU_ISSET(cpu, &set))
				break;
		want = cpu;
	}
	CPU_ZERO(&set);
	CPU_SET(want, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		log_err("pinning to cpu %d: %s", want, strerror(errno));
		return -errno;
	}
	return want;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank q (0..1) of n samples, sorted in place. 0 when n is 0. */
static inline double bench_quantile(double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i];
}

static inline void bench_cpu_model(char *buf, size_t len)
{
	char line[256], *colon;
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10))
			continue;
		colon = strchr(line, ':');
		if (colon) {
			snprintf(buf, len, "%s", colon + 2);
			buf[strcspn(buf, "\n")] = '\0';
		}
		break;
	}
	fclose(f);
}

/* Title, date, kernel and CPU: the first lines of every report. */
static inline void bench_print_env(FILE *f, const char *title, int cpu)
{
	char model[128], date[64];
	time_t t = time(NULL);
	struct utsname u;

	uname(&u);
	bench_cpu_model(model, sizeof(model));
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	fprintf(f, "meridian %s\n", title);
	fprintf(f, "date:     %s\n", date);
	fprintf(f, "kernel:   %s %s %s\n", u.sysname, u.release, u.machine);
	if (cpu >= 0)
		fprintf(f, "cpu:      %s; pinned to cpu %d of %ld online\n",
			model, cpu, sysconf(_SC_NPROCESSORS_ONLN));
	else
		fprintf(f, "cpu:      %s; %ld online\n", model,
			sysconf(_SC_NPROCESSORS_ONLN));
}

typedef int (*bench_report_fn)(FILE *f, void *arg);

/* The report goes to stdout and, when out_path is set, to that file. */
static inline int bench_write_report(bench_report_fn fn, void *arg,
				     const char *out_path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem, *out;
	int err;

	mem = open_memstream(&text, &len);
	if (!mem)
		return -errno;
	err = fn(mem, arg);
	fclose(mem);
	if (err)
		goto out;
	fputs(text, stdout);
	fflush(stdout);
	if (!out_path)
		goto out;
	out = fopen(out_path, "w");
	if (!out || fputs(text, out) < 0 || fclose(out)) {
		err = -errno;
		log_err("writing %s: %s", out_path, strerror(errno));
	}
out:
	free(text);
	return err;
}

/*
 * Without root a benchmark is skipped, not failed: skip_msg, exit 0.
 * Otherwise 1 for an error or a run that measured something else.
 */
static inline int bench_exit_code(int err, const char *skip_msg, bool valid)
{
	if (err == -EPERM) {
		printf("%s\n", skip_msg);
		return 0;
	}
	if (err) {
		log_err("benchmark failed: %s", strerror(-err));
		return 1;
	}
	return valid ? 0 : 1;
}

/*
 * The options benchmarks share: -o FILE, -s FILE, -r ROUNDS and -c CPU.
 * True when opt was one of them and arg is stored.
 */
static inline bool bench_common_opt(int opt, const char *arg,
				    const char **out_path,
				    const char **summary_path,
				    unsigned int *rounds, int *cpu)
{
	switch (opt) {
	case 'o':
		*out_path = arg;
		return true;
	case 's':
		*summary_path = arg;
		return true;
	case 'r':
		*rounds = (unsigned int)strtoul(arg, NULL, 10);
		return true;
	case 'c':
		*cpu = atoi(arg);
		return true;
	}
	return false;
}

#endif /* MERIDIAN_BENCH_UTIL_H */
