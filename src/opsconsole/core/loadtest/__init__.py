"""The load-test referee's pure core: the spec, the signals, the judgement, the result."""
