"""The directory: notify's picture of the world, projected from intake, rectification and
verification — who to tell (units, helper departments, persons, teams) and where each problem
stands (reminders, escalation, digests, bulletin statistics). `tables` the SQL tables,
`projection` how events fill them, `queries` how the rest of notify reads them, `visibility` the
disclosure policy over these rows."""
