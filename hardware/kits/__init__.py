"""The sensor kits as data (one TOML file a kit): bill of materials, wiring, power draw and, for
an off-grid kit, how its battery and panel are sized. `eil kit KIND` and the kit pages
(`eil kit KIND --markdown`) are made from these files; `eil site add-node --kind KIND` takes the
kit's drivers from them. `eil/kitdata` is a link to this folder, so the wheel carries the kits
as package data of `eil`."""
