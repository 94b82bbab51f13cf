<?xml version="1.0" encoding="UTF-8"?>
<!-- A small rule file in the shape SchXslt compiles Schematron to: an SVRL
     report with a failed-assert per broken rule. -->
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:svrl="http://purl.oclc.org/dsdl/svrl" xmlns:t="urn:test">
  <xsl:template match="/">
    <svrl:schematron-output>
      <xsl:for-each select="//t:Line[not(t:Amount castable as xs:decimal) or number(t:Amount) &lt; 0]"
          xmlns:xs="http://www.w3.org/2001/XMLSchema">
        <svrl:failed-assert id="T-001" flag="fatal" test="t:Amount &gt;= 0">
          <xsl:attribute name="location" select="concat('/Q{urn:test}Doc[1]/Q{urn:test}Line[', count(preceding-sibling::t:Line) + 1, ']/Q{urn:test}Amount[1]')"/>
          <svrl:text>A line amount
            must not be negative.</svrl:text>
        </svrl:failed-assert>
      </xsl:for-each>
      <xsl:if test="not(/t:Doc/t:Note)">
        <svrl:failed-assert id="T-002" flag="warning" test="t:Note" location="/Q{{urn:test}}Doc[1]">
          <svrl:text>A document should have a note.</svrl:text>
        </svrl:failed-assert>
      </xsl:if>
    </svrl:schematron-output>
  </xsl:template>
</xsl:stylesheet>
