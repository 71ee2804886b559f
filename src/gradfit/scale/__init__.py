"""Beyond one machine's memory and one process: streaming, devices, torch.distributed.

``streams.py``: one streaming pass to sufficient statistics, and mini-batches read from disk;
``shuffle_buffer.py``: the seeded shuffle buffer those batches come through; ``distributed.py``:
torchrun's process group, each process's share of the rows, gathering statistics;
``devices.py``: what torch can see and what ``--device`` means.
"""
