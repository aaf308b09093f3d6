# Install layout and the Debian package (cpack -G DEB).
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

set(CPACK_PACKAGE_NAME elements)
set(CPACK_PACKAGE_VENDOR elements)
set(CPACK_PACKAGE_CONTACT "elements developers <elements@elements.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "single-file rootless Linux containers")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "elements-pack turns a root filesystem (a folder, a tarball, an OCI image layout\n"
  "or a docker save archive) and a small JSON definition into one executable\n"
  "file, and running that file starts the container, with no daemon, no setuid\n"
  "helper and no root. The file is a type 2 AppImage.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries of elements-pack, as dpkg-shlibdeps finds them.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# fusermount3: the FUSE path where the kernel refuses FUSE in a user namespace.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS fuse3)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion, squashfs-tools")
set(CPACK_STRIP_FILES bin/elements-pack)
include(CPack)
