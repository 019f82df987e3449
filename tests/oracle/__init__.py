"""Test oracles for micro15118 (external reference implementations).

``josev`` drives the EXI codec jar bundled with python-iso15118 ("Josev").
"""
