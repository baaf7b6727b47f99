"""Small designs the simulation tests share."""

from kanhw.design import design_from_dict

#: Values span only [-2, 2) and products 10 bits: residuals, node
#: differences and updates all saturate now and then.
TIGHT_CONTRACT = {"value_bits": 12, "value_frac": 10, "mul_bits": 10, "rcp_bits": 10,
                  "slope_bits": 8, "slope_frac": 4, "frac_bits": 6, "guard_bits": 0}

#: The iCE40 boards' contract: every multiplier operand fits a 16 x 16 DSP.
NARROW_CONTRACT = {"value_bits": 16, "value_frac": 12, "mul_bits": 16, "guard_bits": 2,
                   "rcp_bits": 15, "slope_bits": 16, "slope_frac": 10}

SPECS = {
    # lanes = 1: every inner function in turn
    "n4_k4_lanes1": {"arch": {"inputs": 4, "addends": 4, "points": [4, 6]},
                     "hardware": {"lanes": 1}},
    # lanes = n, odd K
    "n6_k5_lanes6": {"arch": {"inputs": 6, "addends": 5, "points": [5, 9]},
                     "hardware": {"lanes": 6}},
    # odd n, odd K, lanes that do not divide n (a padded lane-step)
    "n5_k3_lanes2": {"arch": {"inputs": 5, "addends": 3, "points": [3, 7]},
                     "hardware": {"lanes": 2, "tree_levels_per_cycle": 1}},
    # blocks serving two addends in turn (4 steps: the outer engine keeps up)
    "n4_k4_share2": {"arch": {"inputs": 4, "addends": 4, "points": [4, 6]},
                     "hardware": {"lanes": 1, "addends_per_block": 2}},
    # three addends per block, 2 steps: hidden sums queue for the outer engine
    "n6_k6_share3": {"arch": {"inputs": 6, "addends": 6, "points": [5, 9]},
                     "hardware": {"lanes": 3, "addends_per_block": 3}},
    # the table data registered at the RAM's output and before the lane
    # multiplier (lane_stages = 5), with shared blocks (3 steps: sums queue)
    # and a padded lane-step
    "n5_k4_share2_stages5": {"arch": {"inputs": 5, "addends": 4, "points": [4, 7]},
                             "hardware": {"lanes": 2, "addends_per_block": 2,
                                          "lane_stages": 5}},
    # ... and with one addend per block, where every cycle count is exact
    "n4_k3_stages4": {"arch": {"inputs": 4, "addends": 3, "points": [4, 6]},
                      "hardware": {"lanes": 2, "lane_stages": 4}},
    # one processing block: the iCEBreaker's det4-sized design (K = 1, 16
    # inputs, lanes 1, the 16-bit contract iCE40 multipliers take)
    "n16_k1_icebreaker": {"arch": {"inputs": 16, "addends": 1, "points": [5, 22]},
                          "hardware": {"lanes": 1, "table_ram": "block"},
                          "contract": NARROW_CONTRACT},
    # five lane steps per addend: a sum arrives the cycle after the engine
    # let the previous addend go, which would put its map on the shared
    # multiplier with the previous slope; it waits a cycle
    "n5_k4_share2_steps5": {"arch": {"inputs": 5, "addends": 4, "points": [4, 7]},
                            "hardware": {"lanes": 1, "addends_per_block": 2}},
    # one block serving every addend (K = addends_per_block)
    "n6_k4_single_block": {"arch": {"inputs": 6, "addends": 4, "points": [4, 7]},
                           "hardware": {"lanes": 2, "addends_per_block": 4}},
    # a narrow contract: saturation on every path
    "n3_k2_tight": {"arch": {"inputs": 3, "addends": 2, "points": [4, 5]},
                    "hardware": {"lanes": 3}, "contract": TIGHT_CONTRACT},
}


def design(name: str):
    return design_from_dict(SPECS[name])
