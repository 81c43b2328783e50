"""wheelhouse"""
