"""Rate-distortion numerics for the Wyner-Ziv frame of cache compression.

    blahut_arimoto, rd_curve          R(D) of a discrete source, with certified bounds
    rd_rates, wyner_ziv_rates,        the rates at given distortions, bracketed (bisection on the slope)
      conditional_rates
    wyner_ziv, conditional_rd         R_WZ(D) (side info at the decoder) and R_X|Y(D) (at both)
    dsbs, dsbs_wyner_ziv              the doubly symmetric binary source and its closed form
    gaussian_wyner_ziv                jointly Gaussian, squared error (closed form)
    discretised_gaussian_wyner_ziv    the same, computed on a quantised pair, with its discretisation bracket
    side_info_bottleneck              the log-loss bottleneck with decoder side information
    gaussian_sequential               suffix-only window against the optimal rate (Gaussian sources)

All rates are in nats (divide by ln 2 for bits).
"""

from wzbounds.ratedistortion.atdistortion import RatesAt, conditional_rates, rd_rates, wyner_ziv_rates
from wzbounds.ratedistortion.blahut import RDPoint, blahut_arimoto, hamming, rd_curve
from wzbounds.ratedistortion.gaussian import (DiscretisedGaussian, GaussianGrid, discretised_gaussian_wyner_ziv,
                                              gaussian_grid)
from wzbounds.ratedistortion.bottleneck import IBPoint, side_info_bottleneck
from wzbounds.ratedistortion.sequential import SequentialGaussian, gaussian_sequential, smallest_window
from wzbounds.ratedistortion.wynerziv import (WZPoint, binary_entropy, conditional_rd, dsbs, dsbs_wyner_ziv,
                                              gaussian_wyner_ziv, strategies, wyner_ziv)

__all__ = [
    "DiscretisedGaussian", "GaussianGrid", "discretised_gaussian_wyner_ziv", "gaussian_grid",
    "IBPoint", "RDPoint", "RatesAt", "conditional_rates", "rd_rates", "wyner_ziv_rates", "SequentialGaussian", "WZPoint", "binary_entropy", "blahut_arimoto", "conditional_rd",
    "dsbs", "dsbs_wyner_ziv", "gaussian_sequential", "gaussian_wyner_ziv", "hamming", "rd_curve",
    "side_info_bottleneck", "smallest_window", "strategies", "wyner_ziv",
]
