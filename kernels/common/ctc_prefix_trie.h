// The interned prefix trie of the prefix beam search (CPU: cpu/ctc_beam_search.cpp, CUDA:
// cuda/ctc_beam_search.cu): a node pool and an open-addressing (linear probing) hash
// (parent, token) -> node, both in the caller's workspace, so each distinct prefix gets one
// node id, ever, and no call allocates. Node ids and hash slots are int32.
#pragma once

#include <stdint.h>

#include "hostdevice.h"

namespace crnn {

struct TrieNode {
  int32_t parent, token, depth;  // root: parent -1, token -1, depth 0
  int32_t slot;                  // candidate (= beam) index during a frame, else -1
};

// Hash slots for `nodes` nodes: a power of two, at least twice the nodes (load <= 1/2).
CRNN_HD_INLINE int64_t hash_capacity(int64_t nodes) {
  int64_t h = 16;
  while (h < 2 * nodes) h <<= 1;
  return h;
}

// Pool and hash point into the caller's workspace; reset() (or, on a device, a parallel fill
// of the hash with -1 and start()) before each sample.
struct PrefixTrie {
  TrieNode *pool;
  int32_t *hash;  // node id or -1
  uint64_t C;     // key = parent * C + token
  int32_t n = 0;  // nodes in use
  uint64_t mask = 0;
  int shift = 0;  // Fibonacci hashing: the top log2(capacity) bits of key * 2^64/phi

  // The hash geometry for `nodes_needed` nodes (every reader of the trie needs it).
  CRNN_HD_INLINE void size_for(int64_t nodes_needed) {
    const int64_t cap = hash_capacity(nodes_needed);
    mask = static_cast<uint64_t>(cap) - 1;
    shift = 64;
    for (int64_t c = cap; c > 1; c >>= 1) --shift;
  }

  // size_for() and the root node (the hash is already all -1).
  CRNN_HD_INLINE void start(int64_t nodes_needed) {
    size_for(nodes_needed);
    pool[0] = TrieNode{-1, -1, 0, -1};
    n = 1;
  }

  CRNN_HD_INLINE void reset(int64_t nodes_needed) {
    const int64_t cap = hash_capacity(nodes_needed);
    for (int64_t h = 0; h < cap; ++h) hash[h] = -1;
    start(nodes_needed);
  }

  CRNN_HD_INLINE uint64_t home(int32_t parent, int32_t token) const {
    const uint64_t key = static_cast<uint64_t>(parent) * C + static_cast<uint64_t>(token);
    return (key * 0x9E3779B97F4A7C15ull) >> shift;
  }

  // The node of prefix (parent, token), or -1 when it was never interned (read-only).
  CRNN_HD_INLINE int32_t find(int32_t parent, int32_t token) const {
    for (uint64_t h = home(parent, token);; h = (h + 1) & mask) {
      const int32_t id = hash[h];
      if (id < 0 || (pool[id].parent == parent && pool[id].token == token)) return id;
    }
  }

  CRNN_HD_INLINE int32_t intern(int32_t parent, int32_t token) {
    for (uint64_t h = home(parent, token);; h = (h + 1) & mask) {
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

}  // namespace crnn
