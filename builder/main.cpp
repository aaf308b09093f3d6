// elements-pack: a root filesystem and a definition in, one executable file out.
#include <iostream>

#include "builder/commands.hpp"
#include "elements/error.hpp"

using namespace elements;
using namespace elements::builder;

int main(int argc, char** argv) {
  try {
    // The first word picks the command from the table; its options follow.
    const pack_options opt = parse_cli(argc, argv);
    // -h and -V answer on stdout and do nothing else.
    if (opt.answer) {
      std::cout << *opt.answer;
      return exit_ok;
    }
    return opt.subcommand->run(opt);
  } catch (const error& e) {
    std::cerr << "elements-pack: " << e.what() << '\n';
    // The shared error type defaults to the runtime's 125; a builder that
    // fails for any reason but bad input failed its build.
    return e.status() == exit_usage ? exit_usage : exit_build_failed;
  } catch (const std::exception& e) {
    std::cerr << "elements-pack: " << e.what() << '\n';
    return exit_build_failed;
  }
}
