from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('pwkd_plugin/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='pwkd_plugin',
    version=read_version(),
    description='Partial to Whole Knowledge Distillation (PWKD) as a plugin '
    'for mmengine, mmpretrain and mmrazor',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=['pwkd_plugin', 'pwkd_plugin.*']),
    python_requires='>=3.8',
    # mmcv is not listed: either `mmcv-lite` or the compiled `mmcv` provides
    # the `mmcv` module (2.0.0 <= version <= 2.1.0, the range both mmrazor
    # 1.0.0 and mmpretrain 1.2.0 accept); requirements.txt pins mmcv-lite.
    install_requires=[
        'torch>=2.0',
        'torchvision',
        'mmengine>=0.10.0,<0.11',
        'mmpretrain>=1.2.0,<1.3',
        'mmrazor==1.0.0',
        'joblib',
        'scipy',
        'scikit-learn',
        'numpy',
    ],
    extras_require={
        'lite': ['mmcv-lite>=2.0.0,<=2.1.0'],
        'full': ['mmcv>=2.0.0,<=2.1.0'],
        'tests': ['pytest', 'pytest-xdist', 'timm>=0.9'],
        # timm backbones (mmpretrain's TIMMBackbone) as slimmable teachers.
        'timm': ['timm>=0.9'],
        'plots': ['matplotlib'],
    },
    zip_safe=False,
)
