/* relearn.c - main() of the `relearn` command line (src/cli does the work). */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return rl_cli_main(argc, argv);
}
