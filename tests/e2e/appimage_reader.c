/* A client of libappimage, AppImage's own library (Debian's libappimage-dev),
 * for the desktop test: it reads a file the way AppImage desktop integration
 * does and reports what it found.
 *
 *   appimage-reader read FILE DIR   prints type=N, terminal=N and file=PATH
 *                                   for each payload entry; writes the
 *                                   desktop entry to DIR/desktop and
 *                                   .DirIcon (links followed) to DIR/icon
 *   appimage-reader register FILE   integrates FILE into $XDG_DATA_HOME and
 *                                   prints the desktop file it installed
 *   appimage-reader unregister FILE
 * Exit status: 0 done, 1 libappimage failed (the reason on stderr), 2 usage. */
#include <appimage/appimage.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int save(const char* file, const char* entry, const char* dir, const char* as) {
  char* data = NULL;
  unsigned long size = 0;
  if (!appimage_read_file_into_buffer_following_symlinks(file, entry, &data, &size)) {
    fprintf(stderr, "appimage-reader: libappimage cannot read %s from %s\n", entry, file);
    return 1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, as);
  FILE* out = fopen(path, "wb");
  int ok = out && fwrite(data, 1, size, out) == size;
  if (out && fclose(out) != 0) ok = 0;
  free(data);
  if (!ok) fprintf(stderr, "appimage-reader: cannot write %s\n", path);
  return ok ? 0 : 1;
}

static int read_file(const char* file, const char* dir) {
  printf("type=%d\n", appimage_get_type(file, false));
  printf("terminal=%d\n", appimage_is_terminal_app(file));
  char** files = appimage_list_files(file);
  const char* desktop = NULL;
  for (char** f = files; *f; ++f) {
    printf("file=%s\n", *f);
    size_t n = strlen(*f);
    /* The desktop entry AppImage tools read: a *.desktop at the top. */
    if (!desktop && !strchr(*f, '/') && n > 8 && strcmp(*f + n - 8, ".desktop") == 0) desktop = *f;
  }
  int rc = 0;
  if (!desktop) {
    fprintf(stderr, "appimage-reader: libappimage lists no desktop entry in %s\n", file);
    rc = 1;
  } else {
    rc |= save(file, desktop, dir, "desktop");
  }
  rc |= save(file, ".DirIcon", dir, "icon");
  appimage_string_list_free(files);
  return rc;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "read") == 0) return read_file(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "register") == 0) {
    if (appimage_register_in_system(argv[2], false) != 0) {
      fprintf(stderr, "appimage-reader: libappimage cannot register %s\n", argv[2]);
      return 1;
    }
    char* path = appimage_registered_desktop_file_path(argv[2], NULL, false);
    if (!path) {
      fprintf(stderr, "appimage-reader: %s registered, but no desktop file found\n", argv[2]);
      return 1;
    }
    printf("%s\n", path);
    free(path);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "unregister") == 0)
    return appimage_unregister_in_system(argv[2], false) == 0 ? 0 : 1;
  fprintf(stderr, "usage: appimage-reader read FILE DIR | register FILE | unregister FILE\n");
  return 2;
}
