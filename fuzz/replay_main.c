/*
 * replay_main.c: run a libFuzzer target over corpus files without libFuzzer,
 * so a gcc build with sanitizers replays every corpus in `make check`.
 *
 * usage: replay_NAME FILE|DIR ...   Prints one TAP line per argument,
 * and a "not ok" line naming the input if one aborts or a sanitizer
 * stops the program.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* ASan/UBSan's, when linked in: called before a report ends the run. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define REPLAY_MAXSIZE (16 * 1024 * 1024)

static const char *current; /* the input being replayed */

/* Name the input that killed us (async-signal-safe). */
static void
crashed(void)
{
	static const char msg[] = "not ok - replay: this input crashed: ";
	const char *p = current;

	if (p == NULL)
		return;
	current = NULL;
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	(void)!write(STDOUT_FILENO, p, strlen(p));
	(void)!write(STDOUT_FILENO, "\n", 1);
}

/* An abort() (a broken invariant): name the input, then die of it. */
static void
on_abort(int sig)
{
	crashed();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	long len;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (fseek(f, 0, SEEK_END) == -1 || (len = ftell(f)) < 0 ||
	    len > REPLAY_MAXSIZE || fseek(f, 0, SEEK_SET) == -1) {
		fprintf(stderr, "replay: %s: cannot size file\n", path);
		fclose(f);
		return (-1);
	}
	/* Exact-size heap copy, so ASan sees any read past the end. */
	if ((buf = malloc(len > 0 ? (size_t)len : 1)) == NULL) {
		fclose(f);
		return (-1);
	}
	if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(f);
		return (-1);
	}
	fclose(f);
	current = path;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	current = NULL;
	free(buf);
	return (0);
}

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Replay every regular file in ${dir}; set *n to how many.  0 or -1. */
static int
replay_dir(const char *dir, size_t *n)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, **tmp;
	size_t count = 0, i;
	char path[4096];
	struct stat st;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((tmp = realloc(names, (count + 1) * sizeof(*names))) ==
		    NULL) {
			rc = -1;
			break;
		}
		names = tmp;
		if ((names[count] = strdup(de->d_name)) == NULL) {
			rc = -1;
			break;
		}
		count++;
	}
	closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), name_cmp);
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) == -1)
				rc = -1;
			else
				(*n)++;
		}
		free(names[i]);
	}
	free(names);
	return (rc);
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t n;
	int i, failed = 0;

	/* Whole lines out at once: a crash writes after them. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Not SIGSEGV: ASan's handler reports those, then calls back. */
	signal(SIGABRT, on_abort);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(crashed);
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	printf("1..%d\n", argc - 1);
	for (i = 1; i < argc; i++) {
		n = 0;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &n) == -1 || n == 0) {
				printf("not ok %d - replay %s (%zu inputs)\n",
				    i, argv[i], n);
				failed = 1;
				continue;
			}
		} else if (replay_file(argv[i]) == -1) {
			printf("not ok %d - replay %s\n", i, argv[i]);
			failed = 1;
			continue;
		} else {
			n = 1;
		}
		/* A crash never gets here: the sanitizer aborts first. */
		printf("ok %d - replay %s (%zu inputs)\n", i, argv[i], n);
	}
	return (failed);
}
