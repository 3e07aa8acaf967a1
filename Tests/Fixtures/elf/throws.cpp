// Throws through three frames and catches: the unwinder must find each frame's FDE.
#include <cstdio>
#include <stdexcept>

__attribute__((noinline)) static void third(int depth) {
    if (depth > 0) throw std::runtime_error("from three frames down");
}
__attribute__((noinline)) static void second(int depth) { third(depth); std::puts("not reached"); }
__attribute__((noinline)) static void first(int depth) { second(depth); std::puts("not reached"); }

int main(int argc, char **) {
    try {
        first(argc);
    } catch (const std::exception &error) {
        std::printf("caught: %s\n", error.what());
    }
    return 0;
}
