/*
 * spawn.c: running a helper program and waiting for it (spawn.h).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/spawn.h"

extern char **environ;

int
spawn_run(char *const argv[], const char *in, bool quiet)
{
	posix_spawn_file_actions_t fa;
	int p[2] = { -1, -1 }, st, e;
	size_t len = in != NULL ? strlen(in) : 0, off = 0;
	ssize_t n;
	pid_t pid;

	if (in != NULL && pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto err;
	if (quiet)
		(void)posix_spawn_file_actions_addopen(
		    &fa, 2, "/dev/null", O_WRONLY, 0);
	if (in != NULL)
		(void)posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		if (!quiet)
			log_warnx("cannot run %s: %s", argv[0], strerror(e));
		goto err;
	}
	if (in != NULL) {
		close(p[0]);
		p[0] = -1;
		while (off < len) {
			if ((n = write(p[1], in + off, len - off)) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			off += (size_t)n;
		}
		close(p[1]);
		p[1] = -1;
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			return (-1);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || off != len)
		return (-1);

	/* Success! */
	return (0);

err:
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	return (-1);
}
