"""``evrig``: the one import namespace of the EV charger rig (design §2).

The project keeps its top-level folders (``rig/``, ``rigs/``, ``drivers/``, ``sim/``,
``fixtures/``, ``testcases/``); ``setup.py`` maps each under this package
(``evrig.rig`` is the folder ``rig/``, and so on), so installing the rig puts one
package of ours into site-packages and a user's repo that also uses PyPI's
``fixtures``, ``drivers`` or ``rig`` keeps working. Import our code as
``from evrig.rig.clock import Clock``; never as ``from rig.clock import ...``
(tests/test_layers.py checks it).
"""
