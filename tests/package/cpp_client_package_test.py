"""The C++ client as an installed package: `cmake --install` into a scratch prefix, then a tiny
application outside this tree finds it with find_package(ringkv) (CMAKE_PREFIX_PATH), links
ringkv::client, and does a put and a get against a live local cluster (ringkv-local, 127.0.0.1
ports 29440-29462)."""
import os
import shutil
import unittest

from pkgtest import install_prefix, run, scratch
from localcluster import LocalCluster  # tests/clients, on the path through pkgtest

APP_CMAKE = """cmake_minimum_required(VERSION 3.20)
project(ringkv_app LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(ringkv 0.14 REQUIRED)
add_executable(app app.cc)
target_link_libraries(app PRIVATE ringkv::client)
"""

APP_CC = r"""#include <ringkv/client.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  ringkv::client::Options o;
  for (int i = 1; i < argc; ++i) o.endpoints.push_back(argv[i]);
  ringkv::client::Client c(o);
  ringkv::client::Error err;
  if (!c.Put("package-key", "package-value", "", &err)) {
    std::printf("put failed: %s\n", err.message.c_str());
    return 1;
  }
  auto g = c.Get("package-key", &err);
  if (!g) {
    std::printf("get failed: %s\n", err.message.c_str());
    return 1;
  }
  for (const std::string& v : g->values) std::printf("value=%s\n", v.c_str());
  return 0;
}
"""


class CppClientPackageTest(unittest.TestCase):
    def test_find_package_build_and_put_get(self):
        d = scratch("cpp-package")
        try:
            prefix = install_prefix(os.path.join(d, "prefix"))
            src = os.path.join(d, "app")
            os.makedirs(src)
            with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
                f.write(APP_CMAKE)
            with open(os.path.join(src, "app.cc"), "w") as f:
                f.write(APP_CC)
            build = os.path.join(d, "app-build")
            run(["cmake", "-S", src, "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix])
            run(["cmake", "--build", build], timeout=600)
            with LocalCluster(29440, nodes=3) as cluster:
                p = run([os.path.join(build, "app")] + cluster.endpoints, timeout=60)
            self.assertIn("value=package-value", p.stdout)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
