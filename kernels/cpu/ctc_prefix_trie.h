// The interned prefix trie of the CPU prefix beam search (ctc_beam_search.cpp): a node pool
// and an open-addressing (linear probing) hash (parent, token) -> node, both in the caller's
// workspace, so each distinct prefix gets one node id, ever, and no call allocates.
#pragma once

#include <stdint.h>

namespace crnn {
namespace cpu {

struct TrieNode {
  int32_t parent, token, depth;  // root: parent -1, token -1, depth 0
  int32_t slot;                  // candidate (= beam) index during a frame, else -1
};

// Hash slots for `nodes` nodes: a power of two, at least twice the nodes (load <= 1/2).
inline int64_t hash_capacity(int64_t nodes) {
  int64_t h = 16;
  while (h < 2 * nodes) h <<= 1;
  return h;
}

// Pool and hash point into the caller's workspace; reset() before each sample.
struct PrefixTrie {
  TrieNode *pool;
  int32_t *hash;  // node id or -1
  uint64_t C;     // key = parent * C + token
  int32_t n = 0;  // nodes in use
  uint64_t mask = 0;
  int shift = 0;  // Fibonacci hashing: the top log2(capacity) bits of key * 2^64/phi

  void reset(int64_t nodes_needed) {
    const int64_t cap = hash_capacity(nodes_needed);
    mask = static_cast<uint64_t>(cap) - 1;
    shift = 64 - __builtin_ctzll(static_cast<uint64_t>(cap));
    for (int64_t h = 0; h < cap; ++h) hash[h] = -1;
    pool[0] = TrieNode{-1, -1, 0, -1};
    n = 1;
  }

  int32_t intern(int32_t parent, int32_t token) {
    const uint64_t key = static_cast<uint64_t>(parent) * C + static_cast<uint64_t>(token);
    for (uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> shift;; h = (h + 1) & mask) {
      const int32_t id = hash[h];
      if (id < 0) {
        pool[n] = TrieNode{parent, token, pool[parent].depth + 1, -1};
        hash[h] = n;
        return n++;
      }
      if (pool[id].parent == parent && pool[id].token == token) return id;
    }
  }
};

}  // namespace cpu
}  // namespace crnn
