"""Pure domain code of the intake context: one module per aggregate, each with a state class
rebuilt from the aggregate's events and `decide` functions returning new event payloads or raising
`DomainError`s. No I/O, no clock reads: `now` and the other aggregates a rule needs are arguments."""
