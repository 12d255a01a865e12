/* paths.h - where the unit tests find their files. tests/CMakeLists.txt defines these three for
 * every unit test and for this support library; a build without them stops here, not at a
 * confusing fopen failure at run time.
 *   SOLVD_REPO_DATA  the data sets shipped in the repository (data/: breast_cancer,
 *                      digits, ...), the folder a codec env's data_dir names
 *   SOLVD_TEST_DATA    tests/data (Hock-Schittkowski problems, small fixtures)
 *   SOLVD_SOURCE_DIR   the source tree (docs/openapi.json and other checked-in files) */
#ifndef SOLVD_TEST_SUPPORT_PATHS_H
#define SOLVD_TEST_SUPPORT_PATHS_H

#ifndef SOLVD_REPO_DATA
#error "SOLVD_REPO_DATA must name the data/ folder (tests/CMakeLists.txt sets it)"
#endif
#ifndef SOLVD_TEST_DATA
#error "SOLVD_TEST_DATA must name tests/data (tests/CMakeLists.txt sets it)"
#endif
#ifndef SOLVD_SOURCE_DIR
#error "SOLVD_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

#endif
