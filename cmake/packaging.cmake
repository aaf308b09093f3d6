# Install layout.
#
#   bin/elements-pack                         the builder (runtime embedded)
#   libexec/elements/elements-runtime         the same runtime, for --runtime
#   share/elements/schema/*.schema.json       schemas, for editors
#   share/man/man1, man5                      elements-pack(1), elements-spec(5)
#   share/bash-completion/completions         bash completion
#   share/zsh/site-functions, vendor-completions   zsh completion
#   share/doc/elements/examples               the hello example's definition
#
# Included before man/, whose pages name these paths.

include(GNUInstallDirs)
# Relative to the prefix; the man pages name them too.
set(ELEMENTS_SCHEMA_DIR ${CMAKE_INSTALL_DATADIR}/elements/schema)
set(ELEMENTS_RUNTIME_INSTALLED ${CMAKE_INSTALL_LIBEXECDIR}/elements/elements-runtime)
set(ELEMENTS_EXAMPLE_DIR ${CMAKE_INSTALL_DATADIR}/doc/elements/examples)

install(TARGETS elements-pack RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS ${ELEMENTS_RUNTIME} DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/elements)
install(FILES ${PROJECT_SOURCE_DIR}/schema/element.schema.json
              ${PROJECT_SOURCE_DIR}/schema/spec.schema.json
        DESTINATION ${ELEMENTS_SCHEMA_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/completions/elements-pack.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME elements-pack)
# zsh looks in share/zsh/site-functions under /usr/local and, on Debian, in
# share/zsh/vendor-completions under /usr: one copy for each prefix.
install(FILES ${PROJECT_SOURCE_DIR}/completions/_elements-pack
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_elements-pack
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${PROJECT_SOURCE_DIR}/examples/hello/element.json
        DESTINATION ${ELEMENTS_EXAMPLE_DIR}/hello)
