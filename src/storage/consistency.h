// storage/consistency.h — owns the full consistency check of a chain database (`corecell chain
// verify`, crash tests): every invariant import (storage/chain_store.h) maintains, checked from
// the bytes on disk, stopping at the first problem. Read-only: it never repairs anything.
//
// Checked, in order:
//   - genesis_hash is the given genesis's hash; canonical[0] is it and equals genesis_block().
//   - head_hash names a stored header; canonical has exactly the entries 0..head (no gap, nothing
//     above the head).
//   - for every n in 0..head: numbers[canonical[n]] == n; the stored header hashes to
//     canonical[n], has number n and parentHash == canonical[n-1]; body and receipts exist,
//     their roots equal the header's, one receipt per transaction; txlookup[tx] == (n, index).
//   - re-execution (optional, on by default): every block's header verifies against its parent
//     and the council, and executing the blocks from the genesis alloc reproduces each
//     stateRoot, receiptsRoot, gasUsed and the stored receipts.
//   - the state column family has the head's stateRoot (and, with re-execution, exactly the
//     re-executed accounts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "chain/genesis.h"
#include "storage/chaindb.h"
#include "util/result.h"
#include "util/thread_pool.h"

namespace cc::storage {

struct ConsistencyOptions {
  bool reexecute = true;       // re-verify headers and re-execute every block
  ThreadPool* pool = nullptr;  // sender recovery during re-execution (not owned)
  // Called every `progress_every` blocks with the block number just checked.
  std::function<void(std::uint64_t)> progress;
  std::uint64_t progress_every = 1000;
};

struct ConsistencyReport {
  std::uint64_t head_number = 0;
  Hash32 head_hash{};
  Hash32 state_root{};
  std::size_t blocks = 0;  // head_number + 1
  std::size_t transactions = 0;
  std::size_t accounts = 0;  // in the state column family
};

// The first inconsistency is an Error with code "verify.<what>" whose message names the block
// number and the keys/values involved; an I/O failure is the ChainDb error.
[[nodiscard]] Result<ConsistencyReport> check_consistency(const ChainDb& db,
                                                          const chain::Genesis& genesis,
                                                          const ConsistencyOptions& options = {});

}  // namespace cc::storage
