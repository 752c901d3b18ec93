"""The parts of an import, one file per step: options and report (``spec``), columns and
values (``fields``), patrol tracks (``tracks``), parents (``parents``), households and
residents (``people``), codes and insert-or-update (``matching``), refusals and datum
checks (``checks``), grid topology and load (``grids``), the pipeline (``builder``) and
writing (``write``). The entry points are in :mod:`geodata.importer`."""
