"""myorl: curricula, sweeps and run records on top of Stable-Baselines3.

Importing the package registers myorl's own Gymnasium ids. The entry points are strings, so nothing
heavy (MyoSuite) is imported until such an env is made; vec-env worker processes, which import
`myorl` to unpickle their env factories, know the ids too.
"""

import gymnasium as _gym

if "myorl/Baoding-v1" not in _gym.registry:
    _gym.register("myorl/Baoding-v1", entry_point="myorl.baoding.env:make_baoding", max_episode_steps=200)
