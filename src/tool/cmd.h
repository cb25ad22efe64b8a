/*
 * cmd.h: the cryptgate CLI's subcommands.  Each lives in its own file,
 * foo.c exporting foo_main(argc, argv), called with argv[0] = the
 * subcommand name.  Each returns the process exit status: 0 success, 1
 * failure (one clear error line on stderr already printed), 2 usage error.
 */
#ifndef CRYPTGATE_TOOL_CMD_H
#define CRYPTGATE_TOOL_CMD_H

int keygen_main(int argc, char **argv);
int pubkey_main(int argc, char **argv);
int check_config_main(int argc, char **argv);
int kdc_main(int argc, char **argv);
int enroll_main(int argc, char **argv);
int request_main(int argc, char **argv);
int retrieve_main(int argc, char **argv);
int revoke_main(int argc, char **argv);
int status_main(int argc, char **argv);
int pkt_main(int argc, char **argv);
int rotate_main(int argc, char **argv);
int gateway_main(int argc, char **argv);

#endif /* !CRYPTGATE_TOOL_CMD_H */
