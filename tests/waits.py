"""How long tests wait for something the machine must bring about."""

WAIT_TIMEOUT_S = 30.0
"""the default bound of the integration tests' wait helpers: a failure detector, not a
measurement (CI's 2 vCPUs are busy with the whole suite; 10 s was seen to be too short)"""
