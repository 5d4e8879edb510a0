/*  test_layers.c: the folders show the layers. Every folder of the library and the tool may
    include headers of its own folder, of the public folder (runtime/include/rill) and of the
    folders below it, never of one above: this test reads every `#include "..."` line of every
    .c and .h under runtime/, actors/, viz/ and tools/, finds which folder holds each header
    (bare names: one folder per name), and fails naming file, line and include for each one
    that reaches up, and for every folder dependency cycle. CMake enforces the same table at
    compile time (one OBJECT library per folder, CMakeLists.txt's rill_layer calls); this test
    also catches what CMake cannot see: a new folder with no place, a header-only reach, or a
    cycle in the tools. RILL_SOURCE_DIR names the tree it reads. */
#include "testutil.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_MAX_BELOW 10

//  The layers, bottom to top, each with the folders it may include besides its own and the
//  public one. Keep in step with the rill_layer calls in CMakeLists.txt and README's Layout.
typedef struct {
    const char *folder;
    const char *below[S_MAX_BELOW];
} s_layer_t;

static const s_layer_t s_layers[] = {
    {"runtime/base", {NULL}},
    {"runtime/plan", {"runtime/base", NULL}},
    {"runtime/metrics", {"runtime/plan", "runtime/base", NULL}},
    {"runtime/channel", {"runtime/net", "runtime/metrics", "runtime/plan", "runtime/base", NULL}},
    {"actors/state", {"runtime/metrics", "runtime/plan", "runtime/base", NULL}},
    {"actors/operators", {"actors/state", "runtime/metrics", "runtime/plan", "runtime/base", NULL}},
    {"actors/kafka",
     {"actors/operators", "actors/state", "runtime/metrics", "runtime/plan", "runtime/base", NULL}},
    {"actors",
     {"actors/operators", "actors/state", "runtime/channel", "runtime/metrics", "runtime/plan",
      "runtime/base", NULL}},
    {"runtime/checkpoint", {"runtime/plan", "runtime/base", NULL}},
    {"runtime/cluster", {"runtime/net", "runtime/metrics", "runtime/plan", "runtime/base", NULL}},
    {"runtime/net", {"runtime/base", NULL}},
    {"runtime/savepoint",
     {"actors/operators", "actors/state", "runtime/checkpoint", "runtime/metrics",
      "runtime/plan", "runtime/base", NULL}},
    {"runtime/job",
     {"actors", "actors/state", "runtime/channel", "runtime/checkpoint", "runtime/cluster",
      "runtime/net", "runtime/metrics", "runtime/plan", "runtime/base", NULL}},
    {"runtime/api",
     {"runtime/job", "runtime/channel", "runtime/checkpoint", "runtime/cluster", "runtime/net",
      "runtime/metrics", "runtime/plan", "runtime/base", NULL}},
    {"viz", {NULL}},
    {"tools", {"viz", "runtime/net", NULL}},
};
#define S_LAYER_COUNT (sizeof s_layers / sizeof s_layers[0])
static const char *const s_public_folder = "runtime/include/rill";
static const char *const s_roots[] = {"runtime", "actors", "viz", "tools"};

#define S_MAX_FILES 512
#define S_MAX_FOLDERS 32

//  One source tree as read: its files, the folders holding them, and what each folder includes.
typedef struct {
    char *root;
    char *files[S_MAX_FILES]; //  relative paths
    int file_folder[S_MAX_FILES];
    size_t file_count;
    char *folders[S_MAX_FOLDERS];
    size_t folder_count;
    //  depends[a][b]: a file of folder a includes a header of folder b (a != b).
    int depends[S_MAX_FOLDERS][S_MAX_FOLDERS];
    //  reach[a][b]: folder a depends on folder b through one or more includes.
    int reach[S_MAX_FOLDERS][S_MAX_FOLDERS];
    //  What the check found, counted by kind (each also printed).
    int unplaced;   //  folders with sources but no layer
    int ambiguous;  //  header names held by two folders
    int unresolved; //  includes of a name no folder holds
    int reaching;   //  includes of a folder not below
    int cyclic;     //  includes on a folder dependency cycle
} s_tree_t;

//  Joins a and b with a slash into out; paths in a source tree fit, anything else is a bug.
static void s_join(char *out, size_t size, const char *a, const char *b)
{
    int length = snprintf(out, size, "%s/%s", a, b);
    assert_true(length > 0 && (size_t)length < size);
}

static int s_folder_index(s_tree_t *self, const char *folder, int add)
{
    for (size_t i = 0; i < self->folder_count; i++)
        if (strcmp(self->folders[i], folder) == 0)
            return (int)i;
    if (!add)
        return -1;
    assert_true(self->folder_count < S_MAX_FOLDERS);
    self->folders[self->folder_count] = strdup(folder);
    assert_non_null(self->folders[self->folder_count]);
    return (int)self->folder_count++;
}

static int s_is_source(const char *name)
{
    size_t length = strlen(name);
    return length > 2 && name[length - 2] == '.' &&
           (name[length - 1] == 'c' || name[length - 1] == 'h');
}

//  Collects the .c and .h files under root/relative, recursively.
static void s_walk(s_tree_t *self, const char *relative)
{
    char path[4096];
    s_join(path, sizeof path, self->root, relative);
    DIR *dir = opendir(path);
    if (!dir)
        return; //  a root the tree does not have (viz/ in an old layout) holds nothing
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        char child[4096];
        s_join(child, sizeof child, relative, entry->d_name);
        s_join(path, sizeof path, self->root, child);
        struct stat info;
        assert_int_equal(stat(path, &info), 0);
        if (S_ISDIR(info.st_mode))
            s_walk(self, child);
        else if (s_is_source(entry->d_name)) {
            assert_true(self->file_count < S_MAX_FILES);
            self->files[self->file_count] = strdup(child);
            assert_non_null(self->files[self->file_count]);
            self->file_folder[self->file_count] = s_folder_index(self, relative, 1);
            self->file_count++;
        }
    }
    closedir(dir);
}

static const char *s_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

//  The folder holding header `name`, or -1; counts a name two folders hold.
static int s_header_folder(s_tree_t *self, const char *name, int *holders)
{
    int folder = -1;
    *holders = 0;
    for (size_t i = 0; i < self->file_count; i++)
        if (strcmp(s_basename(self->files[i]), name) == 0) {
            folder = self->file_folder[i];
            (*holders)++;
        }
    return folder;
}

static const s_layer_t *s_layer_of(const char *folder)
{
    for (size_t i = 0; i < S_LAYER_COUNT; i++)
        if (strcmp(s_layers[i].folder, folder) == 0)
            return &s_layers[i];
    return NULL;
}

static int s_may_include(const char *from, const char *to)
{
    if (strcmp(from, to) == 0 || strcmp(to, s_public_folder) == 0)
        return 1;
    const s_layer_t *layer = s_layer_of(from);
    for (int i = 0; layer && i < S_MAX_BELOW && layer->below[i]; i++)
        if (strcmp(layer->below[i], to) == 0)
            return 1;
    return 0;
}

//  Calls visit(self, file, line, header name, header folder) for each quoted include.
typedef void(s_visit_fn)(s_tree_t *self, size_t file, int line, const char *name, int folder);

static void s_each_include(s_tree_t *self, s_visit_fn *visit)
{
    for (size_t f = 0; f < self->file_count; f++) {
        char path[4096];
        s_join(path, sizeof path, self->root, self->files[f]);
        FILE *file = fopen(path, "r");
        assert_non_null(file);
        char text[1024];
        int line = 0;
        while (fgets(text, sizeof text, file)) {
            line++;
            const char *p = text;
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, "#include", 8) != 0)
                continue;
            p += 8;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != '"')
                continue; //  <system> and <rill/...> headers are not ours to place
            const char *end = strchr(p + 1, '"');
            if (!end)
                continue;
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(end - p - 1), p + 1);
            int holders;
            int folder = s_header_folder(self, name, &holders);
            if (holders == 0) {
                printf("%s:%d: #include \"%s\": no folder holds this header\n", self->files[f],
                       line, name);
                self->unresolved++;
                continue;
            }
            visit(self, f, line, name, folder);
        }
        fclose(file);
    }
}

static void s_visit_record(s_tree_t *self, size_t file, int line, const char *name, int folder)
{
    int from = self->file_folder[file];
    if (from != folder)
        self->depends[from][folder] = 1;
    if (!s_may_include(self->folders[from], self->folders[folder])) {
        printf("%s:%d: #include \"%s\" reaches %s/, which is not below %s/\n", self->files[file],
               line, name, self->folders[folder], self->folders[from]);
        self->reaching++;
    }
}

static void s_visit_cycle(s_tree_t *self, size_t file, int line, const char *name, int folder)
{
    int from = self->file_folder[file];
    if (from != folder && self->reach[folder][from]) {
        printf("%s:%d: #include \"%s\": %s/ -> %s/ closes a cycle (%s/ depends on %s/)\n",
               self->files[file], line, name, self->folders[from], self->folders[folder],
               self->folders[folder], self->folders[from]);
        self->cyclic++;
    }
}

//  Reads the tree at root and runs every check, printing each finding.
static void s_tree_check(s_tree_t *self, const char *root)
{
    memset(self, 0, sizeof *self);
    self->root = strdup(root);
    assert_non_null(self->root);
    for (size_t i = 0; i < sizeof s_roots / sizeof s_roots[0]; i++)
        s_walk(self, s_roots[i]);
    assert_true(self->file_count > 0);

    for (size_t i = 0; i < self->folder_count; i++)
        if (strcmp(self->folders[i], s_public_folder) != 0 && !s_layer_of(self->folders[i])) {
            printf("%s/: holds sources but has no place in the layers (tests/test_layers.c, "
                   "CMakeLists.txt)\n",
                   self->folders[i]);
            self->unplaced++;
        }
    for (size_t i = 0; i < self->file_count; i++) {
        int holders;
        s_header_folder(self, s_basename(self->files[i]), &holders);
        if (holders > 1 &&
            s_basename(self->files[i])[strlen(s_basename(self->files[i])) - 1] == 'h') {
            printf("%s: another folder holds a header of the same name\n", self->files[i]);
            self->ambiguous++;
        }
    }
    s_each_include(self, s_visit_record);

    //  Transitive closure of the folder graph (Warshall), then every edge on a cycle.
    memcpy(self->reach, self->depends, sizeof self->reach);
    for (size_t k = 0; k < self->folder_count; k++)
        for (size_t a = 0; a < self->folder_count; a++)
            for (size_t b = 0; b < self->folder_count; b++)
                if (self->reach[a][k] && self->reach[k][b])
                    self->reach[a][b] = 1;
    s_each_include(self, s_visit_cycle);
}

static void s_tree_free(s_tree_t *self)
{
    for (size_t i = 0; i < self->file_count; i++)
        free(self->files[i]);
    for (size_t i = 0; i < self->folder_count; i++)
        free(self->folders[i]);
    free(self->root);
}

static void s_write(const char *root, const char *relative, const char *text)
{
    char path[4096];
    s_join(path, sizeof path, root, relative);
    for (char *slash = strchr(path + strlen(root) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0700);
        *slash = '/';
    }
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

//  The usage example, and proof the check is not blind: a small tree where the channel layer
//  includes a header of the job layer above it, and the job includes the channel's, is
//  caught with the offending include named.
static void an_include_that_reaches_up_is_caught(void **state)
{
    char root[] = "/tmp/rill-layers-XXXXXX";
    assert_non_null(mkdtemp(root));
    s_write(root, "runtime/channel/rill_writer.h", "#include \"rill_job.h\"\n");
    s_write(root, "runtime/job/rill_job.h", "#include \"rill_writer.h\"\n#include \"rill.h\"\n");
    s_write(root, "runtime/include/rill/rill.h", "#include <stdint.h>\n");
    s_tree_t tree;
    s_tree_check(&tree, root);
    assert_int_equal(tree.reaching, 1); //  only channel -> job reaches up
    assert_int_equal(tree.cyclic, 2);   //  both includes sit on the cycle
    assert_int_equal(tree.unplaced, 0);
    assert_int_equal(tree.unresolved, 0);
    s_tree_free(&tree);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    assert_int_equal(system(command), 0);
}

//  A folder nobody placed, or a bare header name two folders hold, is caught too.
static void an_unplaced_folder_and_a_shared_name_are_caught(void **state)
{
    char root[] = "/tmp/rill-layers-XXXXXX";
    assert_non_null(mkdtemp(root));
    s_write(root, "runtime/rill_job.c", "#include \"rill_job.h\"\n");
    s_write(root, "runtime/job/rill_job.h", "\n");
    s_write(root, "actors/rill_job.h", "\n");
    s_tree_t tree;
    s_tree_check(&tree, root);
    assert_int_equal(tree.unplaced, 1);  //  runtime/
    assert_int_equal(tree.ambiguous, 2); //  both rill_job.h
    s_tree_free(&tree);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    assert_int_equal(system(command), 0);
}

//  The real tree: every folder placed, no include reaching up, no cycle.
static void the_source_tree_keeps_its_layers(void **state)
{
    const char *root = getenv("RILL_SOURCE_DIR");
    assert_non_null(root);
    s_tree_t tree;
    s_tree_check(&tree, root);
    //  Every layer of the table exists: a renamed folder must be renamed here too.
    for (size_t i = 0; i < S_LAYER_COUNT; i++)
        if (s_folder_index(&tree, s_layers[i].folder, 0) < 0) {
            printf("%s/: in the layers but not in the tree\n", s_layers[i].folder);
            tree.unplaced++;
        }
    assert_int_equal(tree.unplaced, 0);
    assert_int_equal(tree.ambiguous, 0);
    assert_int_equal(tree.unresolved, 0);
    assert_int_equal(tree.reaching, 0);
    assert_int_equal(tree.cyclic, 0);
    s_tree_free(&tree);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_include_that_reaches_up_is_caught),
        cmocka_unit_test(an_unplaced_folder_and_a_shared_name_are_caught),
        cmocka_unit_test(the_source_tree_keeps_its_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
