// Fuzzes the chain protocol decoder (node/protocol.h) on what a peer controls: the message code
// byte and the payload. Input = code byte ‖ payload. Decoding must never crash or allocate per a
// claimed size; whatever decodes must carry the code it came with and re-encode to exactly the
// payload (the decoder is strict, so each message has one encoding).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "node/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc;
  using namespace cc::node;
  if (size == 0) return 0;
  const std::uint8_t code = data[0];
  const ByteView payload(data + 1, size - 1);

  auto message = decode_message(code, payload);
  if (!message.ok()) {
    const auto& c = message.error().code;
    if (c != "proto.unknown_code" && c != "proto.malformed" && c != "proto.too_many" &&
        c != "proto.bad_amount")
      std::abort();  // every refusal carries one of the documented codes
    return 0;
  }
  if (static_cast<std::uint8_t>(code_of(*message)) != code) std::abort();
  (void)msg_code_name(code_of(*message));
  const Bytes again = encode_payload(*message);
  if (again != Bytes(payload.begin(), payload.end())) std::abort();
  auto twice = decode_message(code, again);
  if (!twice.ok() || !(*twice == *message)) std::abort();
  return 0;
}
