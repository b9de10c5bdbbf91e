"""Around the training step: the input pipeline, failures and checkpoints, energy and carbon.

``DataPipelineModel`` (can the host keep the accelerators fed?), ``ReliabilityModel`` (how much
of a run do failures and checkpoints eat?) and ``CarbonModel`` (energy, carbon and water of a
fleet over a period, by region).
"""
