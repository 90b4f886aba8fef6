"""Neural models (torch): the seq2seq responder's network, decoding and subword vocabulary."""
