// The executor's OS threads, kept across launches (creating 256 threads cost a launch ~18 ms).
// run(n, fn) runs fn(0) ... fn(n-1) each on its own thread, all at once (the threads of a block
// wait for each other at barriers), and returns when all returned. Launches from several host
// threads take turns. A forked child starts with a fresh pool (its parent's threads are gone).
#pragma once

#include <functional>

namespace crnn {
namespace simt {

void run_on_workers(int n, const std::function<void(int)> &fn);

}  // namespace simt
}  // namespace crnn
