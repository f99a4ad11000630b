// corecell — entry point; all behaviour lives in the layers, the CLI is in cli/.
#include "cli/app.h"

int main(int argc, char** argv) { return cc::cli::run(argc, argv); }
