"""crowdray for analysis: read data, find showers without Spark, score against truth, plot.

    from analysis import read_hits, read_exposures, read_showers, find_showers, score
    from analysis import plots

Everything works on pandas frames in memory, with no Spark and no Django:
- read_hits / read_exposures: a lake written by `crowdray export`, or a
  `crowdray simulate --out` folder, filtered by time and a bbox;
- read_showers: a `crowdray coincidence --output` folder;
- find_showers: the reference search (the same candidates as the Spark job,
  tested), for data that fits in memory;
- score: a run against the simulator's truth.
"""

from analysis.data import read_exposures, read_hits, read_showers
from analysis.search import Score, find_showers, score

__all__ = ["Score", "find_showers", "read_exposures", "read_hits", "read_showers", "score"]
