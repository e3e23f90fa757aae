"""The EIL wire contract: the one module both the node agent and the gateway import.

Everything that crosses MQTT is defined here: the topic tree (`topics`), the SenML pack codec
(`senml`) and the unit table (`units`). Example payloads live in `contract/examples/` and are
loaded by the tests of both sides; `docs/contract.md` describes them.
"""

CONTRACT_VERSION = "v1"
