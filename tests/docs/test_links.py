"""Every relative link of the Markdown documentation resolves.

README.md, docs/*.md and any configs/**/README.md: each relative link or
image names a file or folder that exists, and a ``#anchor`` names a heading
of its target (GitHub's slugs: lower case, punctuation dropped, spaces as
hyphens, ``-1``, ``-2`` for repeated headings).
"""
import glob
import os.path as osp
import re
from typing import List, Set

import pytest

from ..conftest import REPO_ROOT

FENCE = re.compile(r'^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$', re.M | re.S)
CODE_SPAN = re.compile(r'`[^`]*`')
INLINE_LINK = re.compile(r'!?\[([^\]]*)\]'
                         r'\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REFERENCE_LINK = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?', re.M)
HTML_LINK = re.compile(r'<(?:a|img)\b[^>]*?\b(?:href|src)="([^"]+)"', re.I)
HTML_ANCHOR = re.compile(r'<a\b[^>]*?\b(?:name|id)="([^"]+)"', re.I)
HEADING = re.compile(r'^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$', re.M)
SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def documentation_files(root: str = REPO_ROOT) -> List[str]:
    """The Markdown files whose links are checked, relative to ``root``."""
    paths = [osp.join(root, 'README.md')]
    paths += sorted(glob.glob(osp.join(root, 'docs', '*.md')))
    paths += sorted(
        glob.glob(osp.join(root, 'configs', '**', 'README.md'),
                  recursive=True))
    return [osp.relpath(path, root) for path in paths if osp.isfile(path)]


def without_code(text: str, keep_spans: bool = False) -> str:
    """The text with fenced blocks and code spans blanked (line numbers
    kept); ``keep_spans``: code spans keep their content, without backticks
    (a heading's text)."""
    text = FENCE.sub(lambda m: '\n' * m.group(0).count('\n'), text)
    if keep_spans:
        return CODE_SPAN.sub(lambda m: m.group(0).strip('`'), text)
    return CODE_SPAN.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading's rendered text."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # links
    text = text.replace('`', '').strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path: str) -> Set[str]:
    """Every anchor a Markdown file offers: heading slugs and HTML names."""
    with open(path, encoding='utf-8') as f:
        text = without_code(f.read(), keep_spans=True)
    found, seen = set(), {}
    for match in HEADING.finditer(text):
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f'{slug}-{count}')
    found.update(HTML_ANCHOR.findall(text))
    return found


def link_targets(text: str):
    """(line, target) of every link and image of a Markdown text."""
    text = without_code(text)
    for pattern, group in ((INLINE_LINK, 2), (REFERENCE_LINK, 1),
                           (HTML_LINK, 1)):
        for match in pattern.finditer(text):
            line = text.count('\n', 0, match.start()) + 1
            yield line, match.group(group)


def broken_links(relative: str, root: str = REPO_ROOT) -> List[str]:
    """``file:line: target (why)`` of each relative link that does not
    resolve."""
    path = osp.join(root, relative)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    broken = []
    for line, target in link_targets(text):
        if SCHEME.match(target) or target.startswith('//'):
            continue  # a URL: not checked offline
        file_part, _, anchor = target.partition('#')
        if not file_part:
            resolved = path
        elif file_part.startswith('/'):
            resolved = osp.join(root, file_part.lstrip('/'))
        else:
            resolved = osp.normpath(osp.join(osp.dirname(path), file_part))
        where = f'{relative}:{line}: {target}'
        if not osp.exists(resolved):
            broken.append(f'{where} (no file {osp.relpath(resolved, root)})')
        elif anchor and resolved.endswith('.md') and anchor not in anchors(
                resolved):
            broken.append(f'{where} (no heading #{anchor} in '
                          f'{osp.relpath(resolved, root)})')
    return broken


@pytest.mark.parametrize('relative', documentation_files())
def test_every_relative_link_resolves(relative):
    broken = broken_links(relative)
    assert not broken, 'broken links:\n' + '\n'.join(broken)


def test_the_checker_names_missing_files_and_headings(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'page.md').write_text(
        '# A page\n\n## `pwkd`: distil with PWKD (in progress)\n\n'
        '## Twice\n\n## Twice\n\n```\n# not a heading\n```\n')
    (tmp_path / 'README.md').write_text(
        '[ok](docs/page.md#pwkd-distil-with-pwkd-in-progress) '
        '[ok](docs/page.md#twice-1) [ok](#a-readme) '
        '[url](https://example.org/missing.md)\n# A README\n'
        '[gone](docs/missing.md)\n[no heading](docs/page.md#not-a-heading)\n'
        '`[in code](nowhere.md)`\n![image](docs/missing.png)\n')
    assert broken_links('README.md', str(tmp_path)) == [
        'README.md:3: docs/missing.md (no file docs/missing.md)',
        'README.md:4: docs/page.md#not-a-heading (no heading #not-a-heading '
        'in docs/page.md)',
        'README.md:6: docs/missing.png (no file docs/missing.png)',
    ]
