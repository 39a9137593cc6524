/* One function per subcommand; each returns the process exit code (0 ok, 2 bad input or
 * configuration, 1 other failure). argv[0] is the subcommand's name. */
#ifndef BEND_CLI_COMMANDS_H
#define BEND_CLI_COMMANDS_H

int bend_cmd_embed(int argc, char **argv);
int bend_cmd_embed_seq(int argc, char **argv);
int bend_cmd_train(int argc, char **argv);
int bend_cmd_results(int argc, char **argv);
int bend_cmd_demo_data(int argc, char **argv);
int bend_cmd_info(int argc, char **argv);
int bend_cmd_env(int argc, char **argv);
int bend_cmd_inspect(int argc, char **argv);
int bend_cmd_tokenize(int argc, char **argv);

#endif
